import path from 'node:path';
import { Migrator, sql, type Migration, type MigrationProvider } from 'kysely';
import { LiaisonError, errorMessage } from '../core/errors.js';
import { migrations } from './migrations/index.js';
import { openPostgresStore } from './postgres/postgres-store.js';
import { openSqliteStore } from './sqlite/sqlite-store.js';
import type { Store } from './store-types.js';

export const DEFAULT_STORE_URL = 'sqlite:.liaison/liaison.db';
const STORE_MARKER = 'liaison-store';

/** The store URL from, in order: the explicit value (--db), LIAISON_DB, the embedded default. */
export function resolveStoreUrl(explicit?: string): string {
  return explicit || process.env.LIAISON_DB || DEFAULT_STORE_URL;
}

/**
 * Opens the store named by `url` (`sqlite:PATH` or `postgres://…`), checks it is a Liaison store (or empty), and
 * runs pending migrations. Errors say which store and what to do.
 */
export async function openStore(url: string = resolveStoreUrl()): Promise<Store> {
  const store = await connect(url);
  try {
    await ensureLiaisonStore(store);
    await migrate(store);
  } catch (error) {
    await store.close().catch(() => undefined);
    throw error;
  }
  return store;
}

async function connect(url: string): Promise<Store> {
  if (url.startsWith('sqlite:')) {
    const file = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (!file) throw new LiaisonError('invalid_input', 'store URL "sqlite:" names no file; use sqlite:PATH');
    return openSqliteStore(file);
  }
  if (url.startsWith('postgres://') || url.startsWith('postgresql://')) return openPostgresStore(url);
  if (!url.includes(':') || url.endsWith('.db') || url.endsWith('.sqlite')) return openSqliteStore(path.resolve(url));
  throw new LiaisonError(
    'invalid_input',
    `store URL "${url}" is not supported; use sqlite:PATH or postgres://user@host:port/db`,
  );
}

/** A database with tables but no Liaison marker belongs to something else: refuse to touch it. */
async function ensureLiaisonStore(store: Store): Promise<void> {
  const names = new Set(await tableNames(store));
  if (names.size === 0) return;
  if (!names.has('liaison_meta')) {
    throw new LiaisonError(
      'not_a_store',
      `${store.location} holds tables but is not a Liaison store; name an empty database or another file with --db`,
    );
  }
  const marker = await store.db
    .selectFrom('liaison_meta')
    .select('value')
    .where('key', '=', 'store')
    .executeTakeFirst();
  if (marker?.value !== STORE_MARKER) {
    throw new LiaisonError(
      'not_a_store',
      `${store.location} is not a Liaison store (no store marker); name another store with --db`,
    );
  }
}

/** Tables of this store only (PostgreSQL: the current schema, not every schema the introspector would list). */
export async function tableNames(store: Store): Promise<string[]> {
  const query =
    store.dialect === 'postgres'
      ? // pg_catalog, not information_schema: the latter evaluates privilege functions over every schema and fails
        // (3F000) when another session drops a schema during the scan.
        sql<{ name: string }>`select c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
          where n.nspname = current_schema() and c.relkind in ('r', 'p')`
      : sql<{ name: string }>`select name from sqlite_master where type = 'table' and name not like 'sqlite_%'`;
  const result = await query.execute(store.db);
  return result.rows.map((row) => row.name);
}

class StaticMigrationProvider implements MigrationProvider {
  constructor(private readonly all: Record<string, Migration>) {}
  async getMigrations(): Promise<Record<string, Migration>> {
    return this.all;
  }
}

async function migrate(store: Store): Promise<void> {
  const migrator = new Migrator({
    db: store.db,
    provider: new StaticMigrationProvider(migrations(store.dialect)),
    migrationTableName: 'liaison_migration',
    migrationLockTableName: 'liaison_migration_lock',
    // Kysely looks for its tables across all schemas unless told which one is ours.
    ...(store.schema ? { migrationTableSchema: store.schema } : {}),
  });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((result) => result.status === 'Error')?.migrationName ?? 'unknown';
    throw new LiaisonError('store_error', `migration ${failed} failed on ${store.location}: ${errorMessage(error)}`, {
      cause: error,
    });
  }
}
