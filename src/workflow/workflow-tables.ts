import { sql, type Generated, type Kysely } from 'kysely';
import { LiaisonError } from '../core/errors.js';
import { assertIdentifier } from '../store/filter-sql.js';
import type { LiaisonDatabase, Store } from '../store/store-types.js';

/** Row types of the tables migration 003 creates (declared here so store-types.ts stays the foundation's). */
export interface WorkflowRunTable {
  id: Generated<number>;
  workflow: string;
  file: string | null;
  definition_hash: string;
  status: RunStatus;
  trigger: string;
  started_at: string;
  ended_at: string | null;
  error: string | null;
  attempts: Generated<number>;
  /** Last sign of life of the process running it (see run-heartbeat.ts); null for runs recorded before. */
  heartbeat_at: string | null;
}

export interface WorkflowRunActivityTable {
  run_id: number;
  activity: string;
  type: string;
  position: number;
  status: ActivityStatus;
  records_in: Generated<number>;
  records_out: Generated<number>;
  rejects: Generated<number>;
  api_calls: Generated<number>;
  started_at: string | null;
  ended_at: string | null;
  duration_ms: number | null;
  error: string | null;
  outputs_json: Generated<string>;
  vars_json: Generated<string>;
}

/** The connector's incremental cursor per workflow + activity, saved in the same transaction as the data. */
export interface SyncWatermarkTable {
  workflow: string;
  activity: string;
  field: string;
  value: string | null;
  window_start: string | null;
  window_end: string | null;
  updated_at: string;
}

export interface RecipientTable {
  id: Generated<number>;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  phone: string | null;
  city: string | null;
  country: string | null;
  email_opt_out: Generated<boolean | number>;
  sms_opt_out: Generated<boolean | number>;
  salesforce_id: string | null;
  dynamics_id: string | null;
  created_at: string;
  modified_at: string;
  modified_locally_at: string | null;
}

export type RunStatus = 'running' | 'succeeded' | 'failed';
export type ActivityStatus = 'pending' | 'running' | 'succeeded' | 'failed' | 'skipped';

// A type alias (not an interface) so it satisfies Kysely's index-signature constraint in withTables.
export type WorkflowTables = {
  workflow_run: WorkflowRunTable;
  workflow_run_activity: WorkflowRunActivityTable;
  sync_watermark: SyncWatermarkTable;
  recipient: RecipientTable;
};

export type WorkflowDb = Kysely<LiaisonDatabase & WorkflowTables>;

export function workflowDb(store: Store): WorkflowDb {
  return store.db.withTables<WorkflowTables>();
}

/** Column kinds Liaison moves between tables and working sets. Dates/datetimes are ISO text. */
export type ColumnKind = 'text' | 'integer' | 'number' | 'boolean';

export interface ColumnInfo {
  name: string;
  kind: ColumnKind;
  /**
   * The store's own type when the column was read from a table (e.g. `numeric(12,2)`, `timestamp with time zone`):
   * working sets copy it so values round-trip exactly. Absent → the type follows `kind`.
   */
  sqlType?: string;
}

/** Type names as the stores spell them (letters, digits, spaces, parentheses, commas): safe as raw SQL. */
const SAFE_TYPE = /^[A-Za-z][A-Za-z0-9 ]*(\(\d+(, ?\d+)?\))?( [A-Za-z ]+)?$/;

export function safeSqlType(type: string | undefined): string | undefined {
  return type !== undefined && SAFE_TYPE.test(type) && !/serial/i.test(type) ? type : undefined;
}

/** The columns of a table in this store (PostgreSQL: the store's schema only), or undefined when it does not exist. */
export async function tableColumns(store: Store, table: string): Promise<ColumnInfo[] | undefined> {
  assertIdentifier(table, 'table');
  // format_type keeps the modifiers (numeric(12,2), character varying(18)) that information_schema splits apart.
  const query =
    store.dialect === 'postgres'
      ? sql<{ name: string; type: string }>`select a.attname as name, format_type(a.atttypid, a.atttypmod) as type
          from pg_attribute a join pg_class c on c.oid = a.attrelid join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = current_schema() and c.relname = ${table} and a.attnum > 0 and not a.attisdropped
          order by a.attnum`
      : sql<{ name: string; type: string }>`select name, type from pragma_table_info(${table})`;
  const rows = (await query.execute(store.db)).rows;
  if (rows.length === 0) return undefined;
  return rows.map((row) => {
    const sqlType = safeSqlType(row.type);
    return sqlType
      ? { name: row.name, kind: columnKind(row.type), sqlType }
      : { name: row.name, kind: columnKind(row.type) };
  });
}

/** The column sets of `table`'s unique, non-partial indexes (what `on conflict (…)` can name). */
export async function uniqueKeys(store: Store, table: string): Promise<string[][]> {
  assertIdentifier(table, 'table');
  const query =
    store.dialect === 'postgres'
      ? sql<{ index: string; name: string }>`select i.indexrelid::text as index, a.attname as name
          from pg_index i join pg_class c on c.oid = i.indrelid join pg_namespace n on n.oid = c.relnamespace
          join pg_attribute a on a.attrelid = c.oid and a.attnum = any(i.indkey)
          where n.nspname = current_schema() and c.relname = ${table} and i.indisunique
            and i.indpred is null and i.indexprs is null`
      : sql<{ index: string; name: string }>`select l.name as "index", i.name as name
          from pragma_index_list(${table}) l join pragma_index_info(l.name) i
          where l."unique" = 1 and l.partial = 0`;
  const byIndex = new Map<string, string[]>();
  for (const row of (await query.execute(store.db)).rows) {
    const columns = byIndex.get(row.index) ?? [];
    columns.push(row.name);
    byIndex.set(row.index, columns);
  }
  return [...byIndex.values()];
}

export async function requireTableColumns(store: Store, table: string, hint: string): Promise<ColumnInfo[]> {
  const columns = await tableColumns(store, table);
  if (!columns)
    throw new LiaisonError('object_not_found', `table "${table}" does not exist in ${store.location}; ${hint}`);
  return columns;
}

function columnKind(type: string): ColumnKind {
  const t = type.toLowerCase();
  if (t.includes('bool')) return 'boolean';
  if (t.includes('int') || t === 'bigserial' || t === 'serial') return 'integer';
  if (/(real|double|float|numeric|decimal)/.test(t)) return 'number';
  return 'text';
}

/** The SQL type a working-set column of `kind` gets in `dialect`. */
export function sqlType(
  kind: ColumnKind,
  dialect: Store['dialect'],
): 'text' | 'bigint' | 'integer' | 'double precision' | 'real' | 'boolean' {
  switch (kind) {
    case 'text':
      return 'text';
    case 'integer':
      return dialect === 'postgres' ? 'bigint' : 'integer';
    case 'number':
      return dialect === 'postgres' ? 'double precision' : 'real';
    case 'boolean':
      return 'boolean';
  }
}
