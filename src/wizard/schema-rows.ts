import type { CrmRecord } from '../crm/driver.js';
import type { StoreDialect } from '../store/store-types.js';
import { fromStoredMultiSelect, toStoredMultiSelect } from '../enumerations/multi-select.js';
import type { LocalColumn, LocalSchema } from './schema-types.js';

/**
 * Named mappers between the CRM's neutral records and rows of a generated table, so the connector does not need
 * to know each store's quirks (SQLite has no boolean type; PostgreSQL returns numeric as text and date as a Date).
 *
 * @example
 * const row = recordToRow(schema, record, store.dialect); // { crm_id: '003…', email: 'a@b.c', interests__c: '["Music"]' }
 * const values = rowToValues(schema, row);                // { Email: 'a@b.c', Interests__c: ['Music'] }
 */

function toStored(column: LocalColumn, value: unknown, dialect: StoreDialect): unknown {
  if (value === null || value === undefined) return null;
  if (column.multiSelect)
    return toStoredMultiSelect(Array.isArray(value) ? value.map(String) : String(value).split(';'));
  if (column.type === 'boolean') return dialect === 'sqlite' ? (value ? 1 : 0) : Boolean(value);
  return value;
}

/** A CRM record → a row (only the fields the record carries, so a partial read never blanks other columns). */
export function recordToRow(schema: LocalSchema, record: CrmRecord, dialect: StoreDialect): Record<string, unknown> {
  const row: Record<string, unknown> = { [schema.crmIdColumn]: record.id };
  for (const column of schema.columns) {
    if (column.orphan || column.column === schema.crmIdColumn) continue;
    if (Object.hasOwn(record.values, column.crmField))
      row[column.column] = toStored(column, record.values[column.crmField], dialect);
    const target = `${column.crmField}@target`;
    if (column.targetColumn && Object.hasOwn(record.values, target))
      row[column.targetColumn] = record.values[target] ?? null;
  }
  return row;
}

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

function fromStored(column: LocalColumn, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  if (column.multiSelect) return fromStoredMultiSelect(value);
  if (column.type === 'boolean') return value === true || value === 1 || value === '1' || value === 't';
  if (value instanceof Date) {
    // node-postgres parses `date` at local midnight: read it back with local getters.
    return column.type === 'date'
      ? `${value.getFullYear()}-${pad(value.getMonth() + 1)}-${pad(value.getDate())}`
      : value.toISOString();
  }
  if (typeof value === 'string' && ['decimal', 'double', 'integer', 'bigint'].includes(column.type))
    return Number(value);
  return value;
}

/** A row → CRM values keyed by field API name (for exports); orphan columns and the CRM id are left out. */
export function rowToValues(schema: LocalSchema, row: Record<string, unknown>): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (const column of schema.columns) {
    if (column.orphan || column.column === schema.crmIdColumn || !Object.hasOwn(row, column.column)) continue;
    values[column.crmField] = fromStored(column, row[column.column]);
    if (column.targetColumn && Object.hasOwn(row, column.targetColumn))
      values[`${column.crmField}@target`] = row[column.targetColumn] ?? null;
  }
  return values;
}
