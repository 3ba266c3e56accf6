import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { LiaisonError, errorMessage } from '../../core/errors.js';
import type { LiaisonDatabase, Store } from '../store-types.js';

// Timestamps are stored as ISO text and BIGINT counts fit in JS numbers here; parse int8 as number, not string.
pg.types.setTypeParser(20, (value: string) => Number(value));
// NUMERIC stays a string (exact decimals); callers convert where they know the scale.

/**
 * Opens a PostgreSQL store. `?schema=NAME` in the URL puts Liaison's tables in that schema (created if absent),
 * which lets several stores share one database (tests use it for isolation).
 */
export async function openPostgresStore(url: string): Promise<Store> {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema');
  parsed.searchParams.delete('schema');
  if (schema !== null && !/^[a-z_][a-z0-9_]{0,62}$/.test(schema)) {
    throw new LiaisonError('invalid_input', `schema "${schema}" in the store URL is not a plain lower-case identifier`);
  }
  const pool = new pg.Pool({
    connectionString: parsed.toString(),
    max: 4,
    connectionTimeoutMillis: 10_000,
    // A store in its own schema sets search_path per connection. Parallel workers were seen failing to resolve
    // names in such a schema (42P01/3F000 from 'parallel worker') while other sessions created and dropped
    // schemas; these stores' queries gain little from parallel plans, so they do without.
    ...(schema ? { options: `-c search_path=${schema} -c max_parallel_workers_per_gather=0` } : {}),
  });
  // An idle client error must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const location = redactUrl(parsed, schema);
  let currentSchema: string;
  try {
    const client = await pool.connect();
    try {
      if (schema) await client.query(`CREATE SCHEMA IF NOT EXISTS "${schema}"`);
      currentSchema =
        (await client.query<{ name: string }>('select current_schema() as name')).rows[0]?.name ?? 'public';
    } finally {
      client.release();
    }
  } catch (error) {
    await pool.end().catch(() => undefined);
    throw new LiaisonError(
      'store_unreachable',
      `cannot reach the PostgreSQL store ${location}: ${errorMessage(error)}; check the server is running and the URL`,
      { cause: error },
    );
  }
  const db = new Kysely<LiaisonDatabase>({ dialect: new PostgresDialect({ pool }) });
  return { dialect: 'postgres', location, db, schema: currentSchema, close: () => db.destroy() };
}

function redactUrl(parsed: URL, schema: string | null): string {
  const copy = new URL(parsed.toString());
  if (copy.password) copy.password = '***';
  if (schema) copy.searchParams.set('schema', schema);
  return copy.toString();
}
