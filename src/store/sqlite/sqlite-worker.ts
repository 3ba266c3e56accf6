/**
 * The SQLite store's writer thread: owns the better-sqlite3 connection and runs what the main thread sends, one
 * message at a time, in order. better-sqlite3 is synchronous, so on the main thread every statement stops
 * everything else (an import's HTTP reads and JSON parsing); here SQLite's work runs on the other core meanwhile.
 */
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import type { SqliteFailure, SqliteRequest, SqliteResponse, SqliteWorkerData } from './sqlite-protocol.js';

const port = parentPort!;
const { file } = workerData as SqliteWorkerData;

let database: Database.Database;
try {
  database = new Database(file);
  // WAL lets readers (e.g. `liaison runs list`) work while a run writes; NORMAL sync is safe with WAL.
  database.pragma('journal_mode = WAL');
  database.pragma('synchronous = NORMAL');
  database.pragma('foreign_keys = ON');
  database.pragma('busy_timeout = 5000');
  // Temporary tables (a streamed import's batches) in memory rather than in a temporary file.
  database.pragma('temp_store = MEMORY');
  port.postMessage({ id: 0, ok: true } satisfies SqliteResponse);
} catch (error) {
  port.postMessage({ id: 0, ok: false, error: describe(error) } satisfies SqliteResponse);
  process.exit(0);
}

/** Prepared statements by SQL text: Kysely sends the same few statements many times (a page per transaction). */
const STATEMENT_CACHE = 200;
const statements = new Map<string, Database.Statement>();
function prepare(sql: string): Database.Statement {
  let statement = statements.get(sql);
  if (!statement) {
    statement = database.prepare(sql);
    if (statements.size >= STATEMENT_CACHE) statements.delete(statements.keys().next().value!);
    statements.set(sql, statement);
  }
  return statement;
}

/** Rows sent ahead by `stage`, until a transaction inserts them. */
const staged = new Map<number, { columns: readonly string[]; values: unknown[]; rowCount: number }>();

const cursors = new Map<number, { rows: IterableIterator<unknown>; chunkSize: number }>();
let nextCursor = 1;

/** The failure of a deferred request, carried by the answer to the next request (see SqliteRequest). */
let deferredFailure: SqliteFailure | undefined;

port.on('message', (request: SqliteRequest) => {
  const deferred = 'deferred' in request && request.deferred === true;
  const rollback = request.op === 'query' && /^\s*rollback\b/i.test(request.sql);
  let response: SqliteResponse;
  // Staging runs no SQL: it neither reports nor clears an earlier failure.
  if (request.op === 'stage' || request.op === 'dropStaged') {
    handle(request);
    return;
  }
  if (deferredFailure && !rollback && request.op !== 'close') {
    response = { id: request.id, ok: false, error: deferredFailure };
    deferredFailure = undefined;
  } else {
    if (rollback) deferredFailure = undefined;
    try {
      response = handle(request);
    } catch (error) {
      response = { id: request.id, ok: false, error: describe(error) };
    }
  }
  if (!deferred) port.postMessage(response);
  else if (!response.ok) deferredFailure = response.error;
});

function handle(request: SqliteRequest): SqliteResponse {
  switch (request.op) {
    case 'query': {
      const statement = prepare(request.sql);
      const params = bindable(request.params);
      if (statement.reader) return { id: request.id, ok: true, result: { rows: statement.all(params) as never } };
      const { changes, lastInsertRowid } = statement.run(params);
      return { id: request.id, ok: true, result: { rows: [], changes, lastInsertRowid } };
    }
    case 'insertRows':
      insertRows(request.table, request.columns, request.values, request.rowCount);
      return { id: request.id, ok: true };
    case 'stage':
      staged.set(request.staged, request);
      return { id: request.id, ok: true };
    case 'insertStaged': {
      const rows = staged.get(request.staged);
      if (!rows) throw new Error(`staged rows ${request.staged} are gone`);
      staged.delete(request.staged);
      insertRows(request.table, rows.columns, rows.values, rows.rowCount);
      return { id: request.id, ok: true };
    }
    case 'dropStaged':
      staged.delete(request.staged);
      return { id: request.id, ok: true };
    case 'iterate': {
      const cursor = nextCursor++;
      const rows = prepare(request.sql).iterate(bindable(request.params));
      cursors.set(cursor, { rows, chunkSize: request.chunkSize });
      return { id: request.id, ok: true, result: { cursor, ...nextChunk(cursor) } };
    }
    case 'next':
      return { id: request.id, ok: true, result: { cursor: request.cursor, ...nextChunk(request.cursor) } };
    case 'endCursor':
      cursors.get(request.cursor)?.rows.return?.();
      cursors.delete(request.cursor);
      return { id: request.id, ok: true };
    case 'close':
      for (const { rows } of cursors.values()) rows.return?.();
      cursors.clear();
      staged.clear();
      database.close();
      return { id: request.id, ok: true };
  }
}

function nextChunk(cursor: number): { rows: Record<string, unknown>[]; done: boolean } {
  const open = cursors.get(cursor);
  if (!open) return { rows: [], done: true };
  const rows: Record<string, unknown>[] = [];
  while (rows.length < open.chunkSize) {
    const next = open.rows.next();
    if (next.done) {
      cursors.delete(cursor);
      return { rows, done: true };
    }
    rows.push(next.value as Record<string, unknown>);
  }
  return { rows, done: false };
}

/**
 * `values` holds `rowCount` rows of `columns.length` values, row after row (one flat array crosses threads
 * cheaper than an object per row). Groups of up to 64 rows per statement (fewer calls into SQLite), the remainder
 * one by one.
 */
function insertRows(table: string, columns: readonly string[], values: unknown[], rowCount: number): void {
  const width = columns.length;
  const group = Math.max(1, Math.min(64, Math.floor(999 / width)));
  const statementFor = (count: number) => {
    const tuple = `(${columns.map(() => '?').join(', ')})`;
    return prepare(
      `insert into "${table}" (${columns.map((c) => `"${c}"`).join(', ')}) values ${Array(count).fill(tuple).join(', ')}`,
    );
  };
  const bound = bindable(values);
  let row = 0;
  if (rowCount >= group) {
    const many = statementFor(group);
    for (; row + group <= rowCount; row += group) many.run(bound.slice(row * width, (row + group) * width));
  }
  if (row < rowCount) {
    const one = statementFor(1);
    for (; row < rowCount; row++) one.run(bound.slice(row * width, (row + 1) * width));
  }
}

/** Byte arrays arrive as plain Uint8Arrays (structured clone drops Buffer); better-sqlite3 binds Buffers. */
function bindable(values: readonly unknown[]): unknown[] {
  let copy: unknown[] | undefined;
  for (let i = 0; i < values.length; i++) {
    const value = values[i];
    if (value instanceof Uint8Array && !Buffer.isBuffer(value)) {
      copy ??= [...values];
      copy[i] = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    }
  }
  return copy ?? (values as unknown[]);
}

function describe(error: unknown): SqliteFailure {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { message: error.message, name: error.name, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: String(error) };
}
