/**
 * The messages between the SQLite store (main thread) and its writer thread (sqlite-worker.ts). Values cross by
 * structured clone: strings, numbers, bigints, null and byte arrays.
 */

/**
 * A request with `deferred` gets no answer: the caller goes on at once (a pipeline, as PostgreSQL's pipeline mode).
 * If it fails, the thread keeps the error and answers the next request with it instead of running that request,
 * so a transaction whose insert failed fails at its commit and is rolled back; a rollback always runs.
 */
export type SqliteRequest =
  | { id: number; op: 'query'; sql: string; params: readonly unknown[]; deferred?: boolean }
  | {
      id: number;
      op: 'insertRows';
      table: string;
      columns: readonly string[];
      values: unknown[];
      rowCount: number;
      deferred?: boolean;
    }
  /** Rows sent ahead of the transaction that inserts them (`insertStaged`), while the thread is busy elsewhere. */
  | {
      id: number;
      op: 'stage';
      staged: number;
      columns: readonly string[];
      values: unknown[];
      rowCount: number;
      deferred: true;
    }
  | { id: number; op: 'insertStaged'; table: string; staged: number; deferred?: boolean }
  | { id: number; op: 'dropStaged'; staged: number; deferred: true }
  | { id: number; op: 'iterate'; sql: string; params: readonly unknown[]; chunkSize: number }
  | { id: number; op: 'next'; cursor: number }
  | { id: number; op: 'endCursor'; cursor: number }
  | { id: number; op: 'close' };

export interface SqliteQueryResult {
  rows: Record<string, unknown>[];
  /** For statements that write: rows changed and the last inserted rowid. */
  changes?: number;
  lastInsertRowid?: number | bigint;
}

export interface SqliteChunk {
  cursor: number;
  rows: Record<string, unknown>[];
  done: boolean;
}

export interface SqliteFailure {
  message: string;
  code?: string;
  name?: string;
}

export type SqliteResponse =
  { id: number; ok: true; result?: SqliteQueryResult | SqliteChunk } | { id: number; ok: false; error: SqliteFailure };

/** What the writer thread is told when it starts. */
export interface SqliteWorkerData {
  file: string;
}
