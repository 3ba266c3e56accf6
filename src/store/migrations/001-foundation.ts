import { sql, type Kysely, type Migration } from 'kysely';
import type { StoreDialect } from '../store-types.js';
import { addIdColumn } from './migration-helpers.js';

// Migrations take Kysely<unknown> on purpose: they must not depend on today's table types.
export function foundation(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('liaison_meta')
        .addColumn('key', 'varchar(100)', (col) => col.primaryKey())
        .addColumn('value', 'text', (col) => col.notNull())
        .execute();
      // The marker that tells a Liaison store from any other database (checked on every open).
      await sql`insert into liaison_meta (key, value) values ('store', 'liaison-store')`.execute(db);
      await addIdColumn(db.schema.createTable('external_account'), dialect)
        .addColumn('name', 'varchar(100)', (col) => col.notNull().unique())
        .addColumn('crm', 'varchar(30)', (col) => col.notNull())
        .addColumn('url', 'text', (col) => col.notNull())
        .addColumn('api_version', 'varchar(20)', (col) => col.notNull())
        .addColumn('auth_mode', 'varchar(40)', (col) => col.notNull())
        .addColumn('settings_json', 'text', (col) => col.notNull())
        .addColumn('secrets_enc', 'text', (col) => col.notNull())
        .addColumn('ca_file', 'text')
        .addColumn('created_at', 'varchar(40)', (col) => col.notNull())
        .addColumn('updated_at', 'varchar(40)', (col) => col.notNull())
        .execute();
    },
  };
}
