/**
 * The main thread's side of the SQLite writer thread: a request/response client over the worker's port, and a
 * Kysely driver on top of it. Kysely's own SqliteDriver calls better-sqlite3 synchronously on the calling thread;
 * no maintained package runs better-sqlite3 behind Kysely in a Node worker thread, hence this small one.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  CompiledQuery,
  SelectQueryNode,
  SqliteAdapter,
  SqliteIntrospector,
  SqliteQueryCompiler,
  type DatabaseConnection,
  type Dialect,
  type Driver,
  type Kysely,
  type QueryResult,
} from 'kysely';
import type {
  SqliteChunk,
  SqliteQueryResult,
  SqliteRequest,
  SqliteResponse,
  SqliteWorkerData,
} from './sqlite-protocol.js';

type Pending = { resolve: (result: unknown) => void; reject: (error: Error) => void };
type Outgoing = SqliteRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** One worker thread owning one better-sqlite3 connection; requests are answered in the order they were sent. */
export class SqliteWorkerClient {
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: Error | undefined;

  private constructor(private readonly worker: Worker) {
    worker.on('message', (response: SqliteResponse) => this.settle(response));
    worker.on('error', (error) => this.fail(error));
    worker.on('exit', (code) => this.fail(new Error(`the SQLite thread stopped (exit code ${code})`)));
  }

  /** Starts the thread and opens `file` in it; rejects with SQLite's reason when the file cannot be opened. */
  static async start(file: string): Promise<SqliteWorkerClient> {
    const source = new URL(import.meta.url);
    const workerData: SqliteWorkerData = { file };
    // From the TypeScript sources (the tests), the thread first registers the loader the tests run under.
    const worker = source.pathname.endsWith('.ts')
      ? new Worker(
          `import(${JSON.stringify(tsxEsmApi(source))})` +
            `.then((tsx) => { tsx.register(); return import(${JSON.stringify(new URL('./sqlite-worker.ts', source).href)}); })`,
          { eval: true, workerData },
        )
      : new Worker(new URL('./sqlite-worker.js', source), { workerData });
    const client = new SqliteWorkerClient(worker);
    await new Promise<void>((resolve, reject) => client.pending.set(0, { resolve: () => resolve(), reject }));
    return client;
  }

  request<T>(message: Outgoing): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const promise = new Promise<T>((resolve, reject) =>
      this.pending.set(id, { resolve: resolve as (result: unknown) => void, reject }),
    );
    // Referenced only while an answer is awaited: an idle store must not keep the process alive.
    if (this.pending.size === 1) this.worker.ref();
    this.worker.postMessage({ ...message, id });
    return promise;
  }

  /** Sends without waiting for an answer; a failure surfaces at the next `request` (see SqliteRequest). */
  send(message: Outgoing): void {
    if (this.failure) throw this.failure;
    this.worker.postMessage({ ...message, id: this.nextId++, deferred: true });
  }

  async close(): Promise<void> {
    if (!this.failure) await this.request({ op: 'close' }).catch(() => undefined);
    this.failure ??= new Error('the SQLite store is closed');
    await this.worker.terminate();
  }

  private settle(response: SqliteResponse): void {
    const waiting = this.pending.get(response.id);
    if (!waiting) return;
    this.pending.delete(response.id);
    if (this.pending.size === 0) this.worker.unref();
    if (response.ok) waiting.resolve(response.result);
    else waiting.reject(Object.assign(new Error(response.error.message), response.error));
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiting of this.pending.values()) waiting.reject(error);
    this.pending.clear();
  }
}

/** tsx's ESM API (its package exports map `tsx/esm/api` to this file for `import`). */
function tsxEsmApi(from: URL): string {
  const packageJson = createRequire(from).resolve('tsx/package.json');
  return pathToFileURL(path.join(path.dirname(packageJson), 'dist/esm/api/index.mjs')).href;
}

/** A Kysely dialect whose single connection is the worker (as SQLite has one connection, Kysely's rules). */
export function sqliteWorkerDialect(client: SqliteWorkerClient): Dialect {
  return {
    createAdapter: () => new SqliteAdapter(),
    createDriver: () => new SqliteWorkerDriver(client),
    createIntrospector: (db: Kysely<unknown>) => new SqliteIntrospector(db),
    createQueryCompiler: () => new SqliteQueryCompiler(),
  };
}

class SqliteWorkerDriver implements Driver {
  private readonly connection: SqliteWorkerConnection;
  private lock: Promise<void> | undefined;
  private unlock: (() => void) | undefined;

  constructor(private readonly client: SqliteWorkerClient) {
    this.connection = new SqliteWorkerConnection(client);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    // One connection: wait until whoever holds it (a transaction, a query) releases it.
    while (this.lock) await this.lock;
    this.lock = new Promise((resolve) => (this.unlock = resolve));
    return this.connection;
  }

  async beginTransaction(): Promise<void> {
    // Deferred: the statements that follow go out at once; a failed begin fails the next one instead.
    this.client.send({ op: 'query', sql: 'begin', params: [] });
  }

  async commitTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    const unlock = this.unlock;
    this.lock = undefined;
    this.unlock = undefined;
    unlock?.();
  }

  async destroy(): Promise<void> {
    await this.client.close();
  }
}

class SqliteWorkerConnection implements DatabaseConnection {
  constructor(private readonly client: SqliteWorkerClient) {}

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const result = await this.client.request<SqliteQueryResult>({
      op: 'query',
      sql: compiled.sql,
      params: compiled.parameters,
    });
    if (result.changes === undefined) return { rows: result.rows as R[] };
    return {
      rows: [],
      numAffectedRows: BigInt(result.changes),
      ...(result.lastInsertRowid === undefined ? {} : { insertId: BigInt(result.lastInsertRowid) }),
    };
  }

  async *streamQuery<R>(compiled: CompiledQuery, chunkSize = 100): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(compiled.query)) throw new Error('the SQLite store streams select queries only');
    let chunk = await this.client.request<SqliteChunk>({
      op: 'iterate',
      sql: compiled.sql,
      params: compiled.parameters,
      chunkSize,
    });
    try {
      for (;;) {
        for (const row of chunk.rows) yield { rows: [row as R] };
        if (chunk.done) return;
        chunk = await this.client.request<SqliteChunk>({ op: 'next', cursor: chunk.cursor });
      }
    } finally {
      if (!chunk.done) await this.client.request({ op: 'endCursor', cursor: chunk.cursor });
    }
  }
}
