import type { Kysely } from 'kysely';
import type { LiaisonDatabase, Store } from '../store/store-types.js';
import { loadWatermark, saveWatermark, type Watermark } from '../workflow/watermarks.js';
import { workflowDb } from '../workflow/workflow-tables.js';
import { syncDb } from './sync-tables.js';

/**
 * The incremental cursor of an import activity. An import saves how far it got as *pending* for its run, in the
 * same transaction as each page it stages; the pending cursor becomes the watermark only once that run has
 * succeeded (checked lazily, when the activity next runs). So a run that fails — in the connector or after it —
 * never moves the watermark past records that did not reach their table: the next run reads them again, and the
 * update on the CRM id makes that harmless.
 */
export async function committedWatermark(
  store: Store,
  workflow: string,
  activity: string,
): Promise<Watermark | undefined> {
  const db = syncDb(store.db);
  const pending = await db
    .selectFrom('sync_watermark_pending')
    .selectAll()
    .where('workflow', '=', workflow)
    .where('activity', '=', activity)
    .orderBy('run_id')
    .execute();
  if (pending.length > 0) {
    const runs = await workflowDb(store)
      .selectFrom('workflow_run')
      .select(['id', 'status'])
      .where(
        'id',
        'in',
        pending.map((p) => p.run_id),
      )
      .execute();
    const succeeded = new Set(runs.filter((r) => r.status === 'succeeded').map((r) => Number(r.id)));
    await store.db.transaction().execute(async (trx) => {
      for (const mark of pending) {
        if (!succeeded.has(Number(mark.run_id))) continue;
        await saveWatermark(trx, workflow, activity, {
          field: mark.field,
          value: mark.value,
          windowStart: mark.window_start,
          windowEnd: mark.window_end,
        });
        await syncDb(trx)
          .deleteFrom('sync_watermark_pending')
          .where('workflow', '=', workflow)
          .where('activity', '=', activity)
          .where('run_id', '=', mark.run_id)
          .execute();
      }
    });
  }
  return loadWatermark(store.db, workflow, activity);
}

/** Records how far this run's import got; call inside the transaction that stages the page. */
export async function savePendingWatermark(
  db: Kysely<LiaisonDatabase>,
  key: { workflow: string; activity: string; runId: number },
  mark: { field: string; value: string | null; windowStart: string | null; windowEnd: string | null },
): Promise<void> {
  const row = {
    field: mark.field,
    value: mark.value,
    window_start: mark.windowStart,
    window_end: mark.windowEnd,
    updated_at: new Date().toISOString(),
  };
  await syncDb(db)
    .insertInto('sync_watermark_pending')
    .values({ workflow: key.workflow, activity: key.activity, run_id: key.runId, ...row })
    .onConflict((oc) => oc.columns(['workflow', 'activity', 'run_id']).doUpdateSet(row))
    .execute();
}
