import { LiaisonError } from '../../core/errors.js';
import type { CrmRecord } from '../driver.js';
import type { FieldMetadata } from '../metadata.js';
import type { ResolvedField } from './salesforce-soql.js';

/**
 * Wire ↔ neutral value conversion for Salesforce records. Reading: datetimes to ISO UTC with `Z`, multi-select
 * picklists to arrays, parent relationships flattened to `Account.Name`, `attributes` dropped, polymorphic references
 * annotated with `<field>@target`. Writing: the reverse for the types that differ on the wire.
 */

const UTC_MILLIS =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}(\+0000|\+00:00|Z)$/;

/** `2024-01-15T10:20:30.000+0000` (Salesforce JSON) → `2024-01-15T10:20:30.000Z`. */
export function normaliseDateTime(value: string): string {
  // Salesforce sends UTC with millis; that shape maps by text alone (the general path costs ~3 µs per value).
  // Days 29-31 take the general path, which rolls impossible dates over exactly as before.
  if (UTC_MILLIS.test(value)) return `${value.slice(0, 23)}Z`;
  const withColon = value.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const time = Date.parse(withColon);
  if (Number.isNaN(time)) throw new LiaisonError('crm_error', `Salesforce sent an unreadable datetime "${value}"`);
  return new Date(time).toISOString();
}

/** One wire value → its neutral form, by the field's type. */
export function normaliseValue(value: unknown, field: FieldMetadata): unknown {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case 'datetime':
      return typeof value === 'string' ? normaliseDateTime(value) : value;
    case 'multipicklist':
      if (typeof value !== 'string') return value;
      return value === '' ? [] : value.split(';');
    case 'integer':
    case 'bigint':
    case 'double':
    case 'decimal':
      if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value))) return Number(value);
      return value;
    case 'boolean':
      if (value === 'true' || value === 'false') return value === 'true';
      return value;
    case 'address':
    case 'location':
      return typeof value === 'object' ? stripAttributes(value as Record<string, unknown>) : value;
    default:
      return value;
  }
}

function stripAttributes(value: Record<string, unknown>): Record<string, unknown> {
  const { attributes: _attributes, ...rest } = value;
  return rest;
}

/** Reads `Account.Name` from a nested record; a null parent yields null. */
function readPath(raw: Record<string, unknown>, segments: string[]): unknown {
  let current: unknown = raw;
  for (const segment of segments) {
    if (current === null || current === undefined || typeof current !== 'object') return null;
    const record = current as Record<string, unknown>;
    current = segment in record ? record[segment] : findInsensitive(record, segment);
  }
  return current ?? null;
}

function findInsensitive(record: Record<string, unknown>, key: string): unknown {
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(record)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

/** A reference that may point at several objects (WhoId, WhatId, OwnerId): its target is named per value. */
export function isPolymorphic(field: FieldMetadata): boolean {
  return field.type === 'reference' && (field.referenceTo?.length ?? 0) > 1;
}

/**
 * Builds the mapper for one query: the columns are resolved once, so each record costs a few property reads.
 * `objectByKeyPrefix` names the target object of polymorphic references from the id's first three characters.
 */
export function recordMapper(
  columns: ResolvedField[],
  objectByKeyPrefix: ReadonlyMap<string, string>,
): (raw: unknown) => CrmRecord {
  const plan = columns.map((c) => ({
    key: c.path,
    segments: c.path.split('.'),
    field: c.field,
    polymorphic: isPolymorphic(c.field),
  }));
  return (raw) => {
    if (!raw || typeof raw !== 'object')
      throw new LiaisonError('crm_error', 'Salesforce sent a query row that is not an object');
    const record = raw as Record<string, unknown>;
    const values: Record<string, unknown> = {};
    for (const column of plan) {
      const value = normaliseValue(readPath(record, column.segments), column.field);
      values[column.key] = value;
      if (column.polymorphic && typeof value === 'string') {
        const target = objectByKeyPrefix.get(value.slice(0, 3));
        if (target) values[`${column.key}@target`] = target;
      }
    }
    const id = record.Id;
    if (typeof id !== 'string') throw new LiaisonError('crm_error', 'Salesforce sent a query row without an Id');
    return { id, values };
  };
}

/** A neutral value → what Salesforce's JSON API takes (multi-select as `a;b`, Dates as ISO text). */
export function toWireValue(value: unknown): unknown {
  if (value === undefined) return undefined;
  if (Array.isArray(value)) return value.map(String).join(';');
  if (value instanceof Date) return value.toISOString();
  return value;
}

/** A neutral value → one Bulk 2.0 CSV cell. An empty cell means "leave unchanged" there, so null is `#N/A`. */
export function toCsvCell(value: unknown): string {
  if (value === undefined) return '';
  if (value === null) return '#N/A';
  if (Array.isArray(value)) return value.map(String).join(';');
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}
