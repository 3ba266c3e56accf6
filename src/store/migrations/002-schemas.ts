import type { Kysely, Migration } from 'kysely';
import type { StoreDialect } from '../store-types.js';
import { addIdColumn } from './migration-helpers.js';

/**
 * The schema registry (one row per generated local table, its definition as JSON) and local enumerations with
 * their values. The generated tables themselves are created by the wizard, not here.
 */
export function schemas(dialect: StoreDialect): Migration {
  return {
    async up(db: Kysely<unknown>): Promise<void> {
      await db.schema
        .createTable('liaison_schema')
        .addColumn('name', 'varchar(200)', (col) => col.primaryKey())
        .addColumn('account', 'varchar(100)', (col) => col.notNull())
        .addColumn('crm', 'varchar(30)', (col) => col.notNull())
        .addColumn('crm_object', 'varchar(200)', (col) => col.notNull())
        .addColumn('table_name', 'varchar(63)', (col) => col.notNull().unique())
        .addColumn('definition_json', 'text', (col) => col.notNull())
        .addColumn('created_at', 'varchar(40)', (col) => col.notNull())
        .addColumn('updated_at', 'varchar(40)', (col) => col.notNull())
        .addUniqueConstraint('liaison_schema_account_object', ['account', 'crm_object'])
        .execute();
      await db.schema
        .createTable('liaison_enumeration')
        .addColumn('name', 'varchar(200)', (col) => col.primaryKey())
        .addColumn('multi', 'integer', (col) => col.notNull().defaultTo(0))
        .addColumn('value_type', 'varchar(20)', (col) => col.notNull().defaultTo('text'))
        .addColumn('source', 'varchar(400)', (col) => col.notNull())
        .addColumn('controller', 'varchar(200)')
        .addColumn('created_at', 'varchar(40)', (col) => col.notNull())
        .addColumn('updated_at', 'varchar(40)', (col) => col.notNull())
        .execute();
      await addIdColumn(db.schema.createTable('liaison_enumeration_value'), dialect)
        .addColumn('enumeration', 'varchar(200)', (col) =>
          col.notNull().references('liaison_enumeration.name').onDelete('cascade'),
        )
        .addColumn('value', 'varchar(1000)', (col) => col.notNull())
        .addColumn('label', 'text', (col) => col.notNull())
        .addColumn('enabled', 'integer', (col) => col.notNull().defaultTo(1))
        .addColumn('source', 'varchar(20)', (col) => col.notNull())
        .addColumn('valid_for', 'text')
        .addColumn('position', 'integer', (col) => col.notNull())
        .addUniqueConstraint('liaison_enumeration_value_unique', ['enumeration', 'value'])
        .execute();
    },
  };
}
