import type { Store } from './store-types.js';

/** Rows per multi-row statement: under both stores' bound-parameter limits. */
const batchOf = (width: number) => Math.max(1, Math.floor(30_000 / Math.max(1, width)));

/**
 * Appends rows whose values are already in the store's form (a producer's pages) inside `db`, which may be a
 * transaction: the store's fast path when it has one (SQLite prepared statements), else multi-row inserts.
 */
export async function appendRows(
  store: Store,
  db: Store['db'],
  table: string,
  rows: readonly Record<string, unknown>[],
): Promise<void> {
  if (rows.length === 0) return;
  if (store.insertRows) return store.insertRows(table, rows);
  const batch = batchOf(Object.keys(rows[0]!).length);
  const dynamic = db.withTables<Record<string, Record<string, unknown>>>();
  for (let i = 0; i < rows.length; i += batch)
    await dynamic
      .insertInto(table)
      .values(rows.slice(i, i + batch))
      .execute();
}
