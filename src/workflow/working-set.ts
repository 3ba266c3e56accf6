import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { tableNames } from '../store/store-open.js';
import type { Store } from '../store/store-types.js';
import { safeSqlType, sqlType, tableColumns, type ColumnInfo } from './workflow-tables.js';

/** One record of a working set, keyed by column name. */
export type Row = Record<string, unknown>;

/** The hidden insertion-order key of every working-set table: keyset pagination and "first/last" rules use it. */
export const ROW_KEY = '_row';

/**
 * A working set: records staged in a store table between two activities (never one in-memory array).
 * Handlers read it page by page, or move it with INSERT … SELECT on `table` inside the database.
 */
export interface WorkingSet {
  readonly table: string;
  readonly columns: readonly ColumnInfo[];
  readonly count: number;
  /** Pages of rows in insertion order (keyset pagination on `_row`, so memory stays flat). */
  pages(pageSize?: number): AsyncIterable<Row[]>;
}

/** Appends rows to a new working set in batches; `finish()` flushes and returns the readable handle. */
export interface WorkingSetWriter {
  readonly table: string;
  readonly columns: readonly ColumnInfo[];
  write(rows: Iterable<Row>): Promise<void>;
  finish(): Promise<WorkingSet>;
}

/** `ws_<run>_<activity>_<transition>`, shortened with a hash when longer than PostgreSQL's 63-character limit. */
export function workingSetName(runId: number, activity: string, transition: string): string {
  const clean = (part: string) => part.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  const name = `ws_${runId}_${clean(activity)}_${clean(transition)}`;
  if (name.length <= 63) return name;
  const hash = createHash('sha256').update(`${activity}\u0000${transition}`).digest('hex').slice(0, 10);
  return `${name.slice(0, 52)}_${hash}`;
}

/** Creates (replacing any leftover of an earlier attempt) an empty working-set table with typed columns. */
export async function createWorkingSetTable(
  store: Store,
  table: string,
  columns: readonly ColumnInfo[],
  options: { temporary?: boolean } = {},
): Promise<void> {
  await store.db.schema.dropTable(table).ifExists().execute();
  let builder = store.db.schema.createTable(table);
  if (options.temporary) builder = builder.temporary();
  builder = builder.addColumn(ROW_KEY, store.dialect === 'postgres' ? 'bigserial' : 'integer', (col) =>
    store.dialect === 'postgres' ? col.primaryKey() : col.primaryKey().autoIncrement(),
  );
  for (const column of columns) {
    const own = safeSqlType(column.sqlType);
    builder = builder.addColumn(column.name, own ? sql.raw(own) : sqlType(column.kind, store.dialect));
  }
  await builder.execute();
}

export async function createWorkingSet(
  store: Store,
  table: string,
  columns: readonly ColumnInfo[],
): Promise<WorkingSetWriter> {
  await createWorkingSetTable(store, table, columns);
  // Stay under SQLite's and PostgreSQL's bound-parameter limits.
  const batchSize = Math.max(1, Math.min(2000, Math.floor(30_000 / Math.max(1, columns.length + 1))));
  let pending: Row[] = [];
  const flush = async () => {
    if (pending.length === 0) return;
    const values = pending.map((row) => {
      const out: Record<string, unknown> = {};
      for (const column of columns) out[column.name] = toStore(row[column.name], column.kind, store.dialect);
      return out;
    });
    pending = [];
    // Working-set tables are dynamic: Kysely cannot type them, so the typed db is widened once here.
    await store.db.withTables<Record<string, Record<string, unknown>>>().insertInto(table).values(values).execute();
  };
  return {
    table,
    columns,
    async write(rows) {
      for (const row of rows) {
        pending.push(row);
        if (pending.length >= batchSize) await flush();
      }
    },
    async finish() {
      await flush();
      return openWorkingSet(store, table, columns);
    },
  };
}

/** Opens an existing working-set table (e.g. a completed activity's output when a run resumes). */
export async function openWorkingSet(
  store: Store,
  table: string,
  knownColumns?: readonly ColumnInfo[],
): Promise<WorkingSet> {
  const columns = knownColumns ?? (await tableColumns(store, table))?.filter((c) => c.name !== ROW_KEY);
  if (!columns) throw new Error(`working set ${table} is missing`);
  const count = await countRows(store, table);
  return {
    table,
    columns,
    count,
    pages: (pageSize = 1000) => readPages(store, table, columns, pageSize),
  };
}

export async function countRows(store: Store, table: string): Promise<number> {
  const result = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(store.db);
  return Number(result.rows[0]?.n ?? 0);
}

async function* readPages(
  store: Store,
  table: string,
  columns: readonly ColumnInfo[],
  pageSize: number,
): AsyncGenerator<Row[]> {
  let after = 0;
  const select = sql.join([sql.ref(ROW_KEY), ...columns.map((c) => sql.ref(c.name))]);
  for (;;) {
    const result = await sql<Row>`select ${select} from ${sql.table(table)} where ${sql.ref(ROW_KEY)} > ${after}
      order by ${sql.ref(ROW_KEY)} limit ${pageSize}`.execute(store.db);
    if (result.rows.length === 0) return;
    after = Number(result.rows[result.rows.length - 1]![ROW_KEY]);
    yield result.rows.map((row) => {
      const out: Row = {};
      for (const column of columns) out[column.name] = fromStore(row[column.name], column);
      return out;
    });
    if (result.rows.length < pageSize) return;
  }
}

function toStore(value: unknown, kind: ColumnInfo['kind'], dialect: Store['dialect']): unknown {
  if (value === undefined || value === null) return null;
  if (kind === 'boolean') return dialect === 'sqlite' ? (value ? 1 : 0) : Boolean(value);
  if (value instanceof Date) return value.toISOString();
  return value;
}

/** Rows leave a working set in Liaison's value conventions: booleans as booleans, dates and times as ISO text. */
function fromStore(value: unknown, column: ColumnInfo): unknown {
  if (column.kind === 'boolean' && typeof value === 'number') return value !== 0;
  if (value instanceof Date) {
    // node-postgres parses a `date` as local midnight: read its local calendar day back, not the UTC instant.
    if (column.sqlType === 'date') {
      const pad = (n: number) => String(n).padStart(2, '0');
      return `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`;
    }
    return value.toISOString();
  }
  return value;
}

/** Drops every working set of a run (when it succeeds, or when its history is pruned). */
export async function dropRunWorkingSets(store: Store, runId: number): Promise<number> {
  const prefix = `ws_${runId}_`;
  const tables = (await tableNames(store)).filter((name) => name.startsWith(prefix));
  for (const table of tables) await store.db.schema.dropTable(table).ifExists().execute();
  return tables.length;
}
