import type { Generated, Kysely } from 'kysely';

/**
 * Tables Liaison itself owns. Capabilities add their tables here and a migration in ./migrations.
 * Timestamps are ISO-8601 UTC strings in both stores, so rows compare and sort the same way everywhere.
 */
export interface MetaTable {
  key: string;
  value: string;
}

export interface ExternalAccountTable {
  id: Generated<number>;
  name: string;
  crm: string;
  url: string;
  api_version: string;
  auth_mode: string;
  /** Non-secret settings as JSON (client id, username, tenant, authority URL, certificate…). */
  settings_json: string;
  /** AES-256-GCM envelope of the secret settings; never plaintext. */
  secrets_enc: string;
  ca_file: string | null;
  created_at: string;
  updated_at: string;
}

export interface LiaisonDatabase {
  liaison_meta: MetaTable;
  external_account: ExternalAccountTable;
}

export type StoreDialect = 'sqlite' | 'postgres';

/** The one store interface; SQLite and PostgreSQL adapters both produce it. */
export interface Store {
  readonly dialect: StoreDialect;
  /** Where the store lives, safe to print (no password). */
  readonly location: string;
  readonly db: Kysely<LiaisonDatabase>;
  /** PostgreSQL: the schema holding Liaison's tables. */
  readonly schema?: string;
  /**
   * Fast path for staging many rows (SQLite only): cached multi-row prepared statements run on the store's single
   * connection, which is how better-sqlite3 inserts fastest. Safe inside a transaction opened through `db` (same
   * connection). Values must be bindable as they are (numbers, strings, null; booleans as 0/1). Absent on PostgreSQL,
   * where multi-row inserts through `db` are the fast path.
   */
  readonly insertRows?: (table: string, rows: readonly Record<string, unknown>[]) => void;
  close(): Promise<void>;
}
