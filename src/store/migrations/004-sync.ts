import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../store-types.js';

/**
 * The CRM connector's own bookkeeping:
 * - `sync_watermark_pending`: the cursor an import reached in a run, promoted to `sync_watermark` only once that run
 *   has succeeded, so a run that fails after importing (or is never resumed) cannot skip records next time;
 * - `sync_export_journal`: per-record export outcomes, written as they come, so a rerun after a crash neither sends a
 *   record twice nor skips one (`in_flight` marks records of a batch whose answer never arrived). Keyed by
 *   workflow + activity + record, not by run: a fresh run after a failed one sees what the failed one did; the rows
 *   of a run are cleared once that run has succeeded.
 */
export function sync(dialect: StoreDialect): Migration {
  const runId = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('sync_watermark_pending')
        .addColumn('workflow', 'varchar(200)', (col) => col.notNull())
        .addColumn('activity', 'varchar(200)', (col) => col.notNull())
        .addColumn('run_id', runId, (col) => col.notNull())
        .addColumn('field', 'varchar(200)', (col) => col.notNull())
        .addColumn('value', 'text')
        .addColumn('window_start', 'varchar(40)')
        .addColumn('window_end', 'varchar(40)')
        .addColumn('updated_at', 'varchar(40)', (col) => col.notNull())
        .addPrimaryKeyConstraint('sync_watermark_pending_pk', ['workflow', 'activity', 'run_id'])
        .execute();
      await db.schema
        .createTable('sync_export_journal')
        .addColumn('workflow', 'varchar(200)', (col) => col.notNull())
        .addColumn('activity', 'varchar(200)', (col) => col.notNull())
        .addColumn('run_id', runId, (col) => col.notNull())
        .addColumn('ref', 'varchar(200)', (col) => col.notNull())
        .addColumn('state', 'varchar(20)', (col) => col.notNull())
        .addColumn('crm_id', 'varchar(100)')
        .addColumn('created', 'integer')
        .addColumn('code', 'varchar(100)')
        .addColumn('message', 'text')
        .addColumn('batch', 'integer', (col) => col.notNull())
        .addColumn('updated_at', 'varchar(40)', (col) => col.notNull())
        .addPrimaryKeyConstraint('sync_export_journal_pk', ['workflow', 'activity', 'ref'])
        .execute();
    },
  };
}
