import { closeSync, existsSync, mkdirSync, openSync, readSync, statSync } from 'node:fs';
import path from 'node:path';
import { Kysely } from 'kysely';
import { LiaisonError, errorMessage } from '../../core/errors.js';
import { assertIdentifier } from '../filter-sql.js';
import type { LiaisonDatabase, Store } from '../store-types.js';
import { SqliteWorkerClient, sqliteWorkerDialect } from './sqlite-worker-client.js';

const SQLITE_HEADER = 'SQLite format 3\u0000';

/**
 * Opens (creating when absent) the embedded SQLite store at `file`. The connection lives in a worker thread
 * (sqlite-worker.ts) so that SQLite's work overlaps the caller's: an import parses its next pages while the last
 * ones are written.
 */
export async function openSqliteStore(file: string): Promise<Store> {
  const absolute = path.resolve(file);
  refuseForeignFile(absolute);
  mkdirSync(path.dirname(absolute), { recursive: true });
  let client: SqliteWorkerClient;
  try {
    client = await SqliteWorkerClient.start(absolute);
  } catch (error) {
    throw new LiaisonError('store_unreachable', `cannot open the SQLite store ${absolute}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
  const db = new Kysely<LiaisonDatabase>({ dialect: sqliteWorkerDialect(client) });
  // Rows shipped ahead by stageRows, by identity; the thread forgets those never inserted once they are collected.
  const staged = new WeakMap<readonly Record<string, unknown>[], { id: number; columns: string[] }>();
  const stagedLeft = new FinalizationRegistry<number>((id) => {
    if (!closed) client.send({ op: 'dropStaged', staged: id, deferred: true });
  });
  let nextStaged = 1;
  let closed = false;
  return {
    dialect: 'sqlite',
    location: `sqlite:${absolute}`,
    db,
    stageRows(rows) {
      if (rows.length === 0 || staged.has(rows)) return;
      const columns = Object.keys(rows[0]!);
      const id = nextStaged++;
      staged.set(rows, { id, columns });
      stagedLeft.register(rows, id, rows);
      client.send({
        op: 'stage',
        staged: id,
        columns,
        values: flatten(rows, columns),
        rowCount: rows.length,
        deferred: true,
      });
    },
    async insertRows(table, rows) {
      if (rows.length === 0) return;
      const ahead = staged.get(rows);
      const columns = ahead?.columns ?? Object.keys(rows[0]!);
      for (const name of [table, ...columns]) assertIdentifier(name, 'column');
      // Deferred: the caller goes on while these are written; a failure fails the transaction's next statement (its
      // commit at the latest), so the transaction is rolled back.
      if (ahead) {
        staged.delete(rows);
        stagedLeft.unregister(rows);
        client.send({ op: 'insertStaged', table, staged: ahead.id });
      } else {
        client.send({ op: 'insertRows', table, columns, values: flatten(rows, columns), rowCount: rows.length });
      }
    },
    close: () => {
      closed = true;
      return db.destroy();
    },
  };
}

/** Row after row in one flat array: one array crosses threads cheaper than an object per row. */
function flatten(rows: readonly Record<string, unknown>[], columns: readonly string[]): unknown[] {
  const values: unknown[] = [];
  for (const row of rows) for (const column of columns) values.push(row[column] ?? null);
  return values;
}

/** A non-empty file that is not SQLite is someone else's data: refuse rather than overwrite it. */
function refuseForeignFile(file: string): void {
  if (!existsSync(file)) return;
  const stats = statSync(file);
  if (stats.isDirectory()) {
    throw new LiaisonError(
      'not_a_store',
      `${file} is a directory, not a Liaison store; name a file with --db sqlite:PATH`,
    );
  }
  if (stats.size === 0) return;
  const header = Buffer.alloc(16);
  const fd = openSync(file, 'r');
  try {
    readSync(fd, header, 0, 16, 0);
  } finally {
    closeSync(fd);
  }
  if (header.toString('latin1') !== SQLITE_HEADER) {
    throw new LiaisonError(
      'not_a_store',
      `${file} is not a Liaison store (not an SQLite database); name another file with --db sqlite:PATH`,
    );
  }
}
