import type { Kysely } from 'kysely';
import type { LiaisonDatabase, Store } from '../store/store-types.js';
import { workflowDb } from '../workflow/workflow-tables.js';
import { syncDb, type ExportState } from './sync-tables.js';

export interface JournalEntry {
  ref: string;
  state: ExportState;
  crmId: string | null;
  created: boolean;
}

export interface JournalKey {
  workflow: string;
  activity: string;
  runId: number;
}

/**
 * The export journal: what happened to each record of an export, written as it happens. Before a batch is sent
 * its records are marked `in_flight`; the CRM's answer turns them into `ok` or `rejected` in the same transaction
 * that writes results back locally. A record still `in_flight` when an export starts again was in a batch whose
 * answer never arrived.
 */
export class ExportJournal {
  constructor(
    private readonly store: Store,
    private readonly key: JournalKey,
  ) {}

  /** Forgets the records of earlier runs that succeeded: those exports are complete. */
  async clearCompletedRuns(): Promise<void> {
    const db = syncDb(this.store.db);
    const runs = await db
      .selectFrom('sync_export_journal')
      .select('run_id')
      .distinct()
      .where('workflow', '=', this.key.workflow)
      .where('activity', '=', this.key.activity)
      .where('run_id', '!=', this.key.runId)
      .execute();
    if (runs.length === 0) return;
    const succeeded = await workflowDb(this.store)
      .selectFrom('workflow_run')
      .select('id')
      .where(
        'id',
        'in',
        runs.map((r) => r.run_id),
      )
      .where('status', '=', 'succeeded')
      .execute();
    if (succeeded.length === 0) return;
    await db
      .deleteFrom('sync_export_journal')
      .where('workflow', '=', this.key.workflow)
      .where('activity', '=', this.key.activity)
      .where(
        'run_id',
        'in',
        succeeded.map((r) => Number(r.id)),
      )
      .execute();
  }

  /** What is known of these records (absent: never sent). */
  async lookup(refs: string[]): Promise<Map<string, JournalEntry>> {
    const found = new Map<string, JournalEntry>();
    for (let i = 0; i < refs.length; i += 500) {
      const rows = await syncDb(this.store.db)
        .selectFrom('sync_export_journal')
        .select(['ref', 'state', 'crm_id', 'created'])
        .where('workflow', '=', this.key.workflow)
        .where('activity', '=', this.key.activity)
        .where('ref', 'in', refs.slice(i, i + 500))
        .execute();
      for (const row of rows)
        found.set(row.ref, { ref: row.ref, state: row.state, crmId: row.crm_id, created: row.created === 1 });
    }
    return found;
  }

  /** Marks records as sent, before the call that sends them. */
  async markInFlight(refs: string[], batch: number): Promise<void> {
    if (refs.length === 0) return;
    const now = new Date().toISOString();
    await this.store.db.transaction().execute(async (trx) => {
      for (let i = 0; i < refs.length; i += 500) {
        await syncDb(trx)
          .insertInto('sync_export_journal')
          .values(
            refs
              .slice(i, i + 500)
              .map((ref) => ({ ...this.row(ref), state: 'in_flight' as const, batch, updated_at: now })),
          )
          .onConflict((oc) =>
            oc
              .columns(['workflow', 'activity', 'ref'])
              .doUpdateSet({ state: 'in_flight', batch, run_id: this.key.runId, updated_at: now }),
          )
          .execute();
      }
    });
  }

  /** Records outcomes; call inside the transaction that writes results back. Multi-row upserts, 500 at a time. */
  async record(
    db: Kysely<LiaisonDatabase>,
    entries: {
      ref: string;
      state: ExportState;
      crmId?: string | null;
      created?: boolean;
      code?: string;
      message?: string;
    }[],
    batch: number,
  ): Promise<void> {
    const now = new Date().toISOString();
    for (let i = 0; i < entries.length; i += 500) {
      await syncDb(db)
        .insertInto('sync_export_journal')
        .values(
          entries.slice(i, i + 500).map((entry) => ({
            ...this.row(entry.ref),
            state: entry.state,
            crm_id: entry.crmId ?? null,
            created: entry.created ? 1 : 0,
            code: entry.code ?? null,
            message: entry.message ?? null,
            batch,
            updated_at: now,
          })),
        )
        .onConflict((oc) =>
          oc.columns(['workflow', 'activity', 'ref']).doUpdateSet((eb) => ({
            state: eb.ref('excluded.state'),
            crm_id: eb.ref('excluded.crm_id'),
            created: eb.ref('excluded.created'),
            code: eb.ref('excluded.code'),
            message: eb.ref('excluded.message'),
            batch: eb.ref('excluded.batch'),
            run_id: eb.ref('excluded.run_id'),
            updated_at: eb.ref('excluded.updated_at'),
          })),
        )
        .execute();
    }
  }

  private row(ref: string) {
    return {
      workflow: this.key.workflow,
      activity: this.key.activity,
      run_id: this.key.runId,
      ref,
      crm_id: null,
      created: null,
      code: null,
      message: null,
    };
  }
}
