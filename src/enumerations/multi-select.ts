import { sql, type RawBuilder } from 'kysely';
import { LiaisonError } from '../core/errors.js';
import type { CrmKind } from '../crm/driver.js';
import type { StoreDialect } from '../store/store-types.js';

/**
 * Multi-select picklists in the store: a JSON array of the selected values as text (`["Cycling","Hiking"]`), the
 * same in SQLite and PostgreSQL, queried with `multiSelectContains`. Drivers already turn the CRM's own format into
 * string[] in CrmRecord; the CRM converters here are for callers that meet the raw format (files, logs, tests).
 */

/** string[] → stored text. Null/undefined stay null (no value); an empty selection is `[]`. Values keep their order, duplicates dropped. */
export function toStoredMultiSelect(values: readonly string[] | null | undefined): string | null {
  if (values === null || values === undefined) return null;
  return JSON.stringify([...new Set(values.map(String))]);
}

/** Stored text → string[] (null → []). Anything else is a corrupt row, reported with the value's shape. */
export function fromStoredMultiSelect(stored: unknown): string[] {
  if (stored === null || stored === undefined) return [];
  if (Array.isArray(stored)) return stored.map(String); // PostgreSQL jsonb columns come back parsed
  if (typeof stored !== 'string')
    throw new LiaisonError('invalid_input', `a multi-select value must be JSON array text, not ${typeof stored}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(stored);
  } catch {
    throw new LiaisonError('invalid_input', `a multi-select value is not JSON array text: ${stored.slice(0, 40)}`);
  }
  if (!Array.isArray(parsed))
    throw new LiaisonError('invalid_input', `a multi-select value is not a JSON array: ${stored.slice(0, 40)}`);
  return parsed.map(String);
}

const SEPARATOR: Record<CrmKind, string> = { salesforce: ';', dynamics: ',' };

/** string[] → the CRM's wire text: `A;B` for Salesforce, `100000000,100000001` for Dataverse. */
export function toCrmMultiSelect(kind: CrmKind, values: readonly string[]): string {
  const separator = SEPARATOR[kind];
  const bad = values.find((v) => v.includes(separator));
  if (bad !== undefined)
    throw new LiaisonError(
      'invalid_input',
      `multi-select value "${bad}" contains "${separator}", which ${kind} uses to separate values`,
    );
  return values.join(separator);
}

/** The CRM's wire text → string[]; empty or null is no selection. */
export function fromCrmMultiSelect(kind: CrmKind, text: string | null | undefined): string[] {
  if (text === null || text === undefined || text === '') return [];
  return text
    .split(SEPARATOR[kind])
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

/** A condition "the multi-select column holds `value`", for either store (the column name is an identifier, the value a parameter). */
export function multiSelectContains(dialect: StoreDialect, column: string, value: string): RawBuilder<boolean> {
  return dialect === 'postgres'
    ? sql<boolean>`(${sql.ref(column)})::jsonb @> jsonb_build_array(${value}::text)`
    : sql<boolean>`exists (select 1 from json_each(${sql.ref(column)}) where json_each.value = ${value})`;
}
