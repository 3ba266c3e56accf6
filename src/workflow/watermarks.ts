import type { Kysely } from 'kysely';
import type { LiaisonDatabase, Store } from '../store/store-types.js';
import type { WorkflowTables } from './workflow-tables.js';

/** The incremental cursor of one connector activity: the last value of `field` imported and the window it closed. */
export interface Watermark {
  field: string;
  value: string | null;
  windowStart: string | null;
  windowEnd: string | null;
  updatedAt: string;
}

/** A store handle or an open transaction (so the cursor is saved in the same transaction as the data it covers). */
export type WatermarkDb = Kysely<LiaisonDatabase> | Store['db'];

function tables(db: WatermarkDb): Kysely<LiaisonDatabase & WorkflowTables> {
  return db.withTables<WorkflowTables>();
}

export async function loadWatermark(
  db: WatermarkDb,
  workflow: string,
  activity: string,
): Promise<Watermark | undefined> {
  const row = await tables(db)
    .selectFrom('sync_watermark')
    .selectAll()
    .where('workflow', '=', workflow)
    .where('activity', '=', activity)
    .executeTakeFirst();
  return (
    row && {
      field: row.field,
      value: row.value,
      windowStart: row.window_start,
      windowEnd: row.window_end,
      updatedAt: row.updated_at,
    }
  );
}

/**
 * Saves the cursor; call it inside the transaction that writes the page it covers. A cursor only moves forward:
 * an older `value` than the stored one (same field, compared as ISO-8601 text) is ignored, so a replayed page
 * cannot rewind it.
 *
 * @example await store.db.transaction().execute(async (trx) => { await writePage(trx); await saveWatermark(trx, wf, act, mark); });
 */
export async function saveWatermark(
  db: WatermarkDb,
  workflow: string,
  activity: string,
  mark: Omit<Watermark, 'updatedAt'>,
): Promise<void> {
  const current = await loadWatermark(db, workflow, activity);
  if (
    current &&
    current.field === mark.field &&
    current.value !== null &&
    mark.value !== null &&
    mark.value < current.value
  )
    return;
  const row = {
    field: mark.field,
    value: mark.value,
    window_start: mark.windowStart,
    window_end: mark.windowEnd,
    updated_at: new Date().toISOString(),
  };
  await tables(db)
    .insertInto('sync_watermark')
    .values({ workflow, activity, ...row })
    .onConflict((oc) => oc.columns(['workflow', 'activity']).doUpdateSet(row))
    .execute();
}

/** Forgets a cursor (the next import is a full one). */
export async function resetWatermark(db: WatermarkDb, workflow: string, activity: string): Promise<void> {
  await tables(db)
    .deleteFrom('sync_watermark')
    .where('workflow', '=', workflow)
    .where('activity', '=', activity)
    .execute();
}
