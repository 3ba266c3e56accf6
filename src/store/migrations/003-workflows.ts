import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../store-types.js';
import { addIdColumn } from './migration-helpers.js';

/**
 * Workflow run history (runs, per-activity outcomes and counters), the connector's incremental cursors, and the
 * built-in `recipient` table of the marketing side. Timestamps are ISO-8601 UTC text, as everywhere in the store.
 */
export function workflows(dialect: StoreDialect): Migration {
  const counter = dialect === 'postgres' ? 'bigint' : 'integer';
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await addIdColumn(db.schema.createTable('workflow_run'), dialect)
        .addColumn('workflow', 'varchar(200)', (col) => col.notNull())
        .addColumn('file', 'text')
        .addColumn('definition_hash', 'varchar(64)', (col) => col.notNull())
        .addColumn('status', 'varchar(20)', (col) => col.notNull())
        .addColumn('trigger', 'varchar(20)', (col) => col.notNull())
        .addColumn('started_at', 'varchar(40)', (col) => col.notNull())
        .addColumn('ended_at', 'varchar(40)')
        .addColumn('error', 'text')
        .addColumn('attempts', 'integer', (col) => col.notNull().defaultTo(1))
        .execute();
      await db.schema.createIndex('workflow_run_by_workflow').on('workflow_run').columns(['workflow', 'id']).execute();

      await db.schema
        .createTable('workflow_run_activity')
        .addColumn('run_id', counter, (col) => col.notNull().references('workflow_run.id').onDelete('cascade'))
        .addColumn('activity', 'varchar(200)', (col) => col.notNull())
        .addColumn('type', 'varchar(40)', (col) => col.notNull())
        .addColumn('position', 'integer', (col) => col.notNull())
        .addColumn('status', 'varchar(20)', (col) => col.notNull())
        .addColumn('records_in', counter, (col) => col.notNull().defaultTo(0))
        .addColumn('records_out', counter, (col) => col.notNull().defaultTo(0))
        .addColumn('rejects', counter, (col) => col.notNull().defaultTo(0))
        .addColumn('api_calls', counter, (col) => col.notNull().defaultTo(0))
        .addColumn('started_at', 'varchar(40)')
        .addColumn('ended_at', 'varchar(40)')
        .addColumn('duration_ms', counter)
        .addColumn('error', 'text')
        // Transition → working-set table and row count, so a resumed run reuses completed outputs.
        .addColumn('outputs_json', 'text', (col) => col.notNull().defaultTo('{}'))
        // Run variables this activity published (e.g. incremental window bounds).
        .addColumn('vars_json', 'text', (col) => col.notNull().defaultTo('{}'))
        .addPrimaryKeyConstraint('workflow_run_activity_pk', ['run_id', 'activity'])
        .execute();

      await db.schema
        .createTable('sync_watermark')
        .addColumn('workflow', 'varchar(200)', (col) => col.notNull())
        .addColumn('activity', 'varchar(200)', (col) => col.notNull())
        .addColumn('field', 'varchar(200)', (col) => col.notNull())
        .addColumn('value', 'text')
        .addColumn('window_start', 'varchar(40)')
        .addColumn('window_end', 'varchar(40)')
        .addColumn('updated_at', 'varchar(40)', (col) => col.notNull())
        .addPrimaryKeyConstraint('sync_watermark_pk', ['workflow', 'activity'])
        .execute();

      await addIdColumn(db.schema.createTable('recipient'), dialect)
        .addColumn('email', 'varchar(320)')
        .addColumn('first_name', 'varchar(200)')
        .addColumn('last_name', 'varchar(200)')
        .addColumn('phone', 'varchar(60)')
        .addColumn('city', 'varchar(200)')
        .addColumn('country', 'varchar(100)')
        .addColumn('email_opt_out', 'boolean', (col) => col.notNull().defaultTo(false))
        .addColumn('sms_opt_out', 'boolean', (col) => col.notNull().defaultTo(false))
        // One CRM id column per external account kind; UNIQUE allows many NULLs in both stores.
        .addColumn('salesforce_id', 'varchar(18)', (col) => col.unique())
        .addColumn('dynamics_id', 'varchar(36)', (col) => col.unique())
        .addColumn('created_at', 'varchar(40)', (col) => col.notNull())
        .addColumn('modified_at', 'varchar(40)', (col) => col.notNull())
        // Set by local changes only (never by an import): the two-way sync exports rows changed since the last export.
        .addColumn('modified_locally_at', 'varchar(40)')
        .execute();
      await db.schema.createIndex('recipient_email').on('recipient').column('email').execute();
      await db.schema.createIndex('recipient_modified_locally').on('recipient').column('modified_locally_at').execute();
    },
  };
}
