import type { ColumnDefinitionBuilder, CreateTableBuilder } from 'kysely';
import type { StoreDialect } from '../store-types.js';

/** Adds an auto-incrementing integer primary key the way each dialect spells it. */
export function addIdColumn<T extends string>(
  table: CreateTableBuilder<T, never>,
  dialect: StoreDialect,
  name = 'id',
): CreateTableBuilder<T, never> {
  return dialect === 'postgres'
    ? table.addColumn(name, 'bigserial', (col: ColumnDefinitionBuilder) => col.primaryKey())
    : table.addColumn(name, 'integer', (col: ColumnDefinitionBuilder) => col.primaryKey().autoIncrement());
}
