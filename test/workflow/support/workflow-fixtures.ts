import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import type { Store } from '../../../src/store/store-types.js';
import { parseWorkflow, type LoadedWorkflow } from '../../../src/workflow/workflow-load.js';

/** Writes `text` to a temp workflow file and returns its path. */
export function workflowFile(text: string, name = 'workflow.yaml'): string {
  const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'liaison-wf-')), name);
  writeFileSync(file, text);
  return file;
}

export function load(store: Store, text: string, file = 'test.yaml'): Promise<LoadedWorkflow> {
  return parseWorkflow(text, file, store);
}

/** A user table of imported contacts and a local account table, as a CRM import would leave them. */
export async function createContactTables(store: Store): Promise<void> {
  await store.db.schema
    .createTable('contact_import')
    .addColumn('crm_id', 'varchar(18)')
    .addColumn('email', 'text')
    .addColumn('first_name', 'text')
    .addColumn('country', 'text')
    .addColumn('account_ref', 'text')
    .addColumn('imported_at', 'varchar(40)')
    .execute();
  await store.db.schema
    .createTable('account')
    .addColumn('id', 'integer')
    .addColumn('crm_account_id', 'text')
    .addColumn('name', 'text')
    .execute();
  const db = store.db.withTables<{
    contact_import: Record<string, string | null>;
    account: Record<string, string | number>;
  }>();
  await db
    .insertInto('account')
    .values([
      { id: 1, crm_account_id: 'A1', name: 'Acme' },
      { id: 2, crm_account_id: 'A2', name: 'Globex' },
    ])
    .execute();
  await db
    .insertInto('contact_import')
    .values([
      {
        crm_id: 'C1',
        email: 'ada@old.example',
        first_name: 'Ada',
        country: 'FR',
        account_ref: 'A1',
        imported_at: '2024-01-01',
      },
      {
        crm_id: 'C1',
        email: 'ada@new.example',
        first_name: 'Ada',
        country: 'FR',
        account_ref: 'A1',
        imported_at: '2024-02-01',
      },
      {
        crm_id: 'C2',
        email: 'bob@example.com',
        first_name: 'Bob',
        country: 'BE',
        account_ref: 'A2',
        imported_at: '2024-01-05',
      },
      {
        crm_id: 'C3',
        email: 'cy@example.com',
        first_name: 'Cy',
        country: 'FR',
        account_ref: 'A9',
        imported_at: '2024-01-06',
      },
      {
        crm_id: 'C4',
        email: 'dee@example.com',
        first_name: 'Dee',
        country: 'DE',
        account_ref: 'A1',
        imported_at: '2024-01-07',
      },
      {
        crm_id: null,
        email: 'nokey@example.com',
        first_name: 'Nia',
        country: 'BE',
        account_ref: null,
        imported_at: '2024-01-08',
      },
    ])
    .execute();
}

export async function count(store: Store, table: string): Promise<number> {
  const result = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(store.db);
  return Number(result.rows[0]?.n);
}
