/**
 * Wire ↔ neutral value mappers for Dataverse records: `fromDataverseRecord` for reads, `toDataverseBody` for
 * writes. Field types come from the entity metadata, never guessed from the values.
 */
import { LiaisonError } from '../../core/errors.js';
import type { CrmRecord } from '../driver.js';
import type { FieldMetadata, ObjectMetadata } from '../metadata.js';
import { isoSeconds, resolveField } from './dynamics-odata.js';

const LOOKUP_ANNOTATION = '@Microsoft.Dynamics.CRM.lookuplogicalname';
const LOOKUP_KEY = /^_(.+)_value$/;

/** Field lookup by wire name (`_x_value` resolves to the lookup `x`), built once per query. */
export function wireIndex(meta: ObjectMetadata): Map<string, FieldMetadata> {
  const index = new Map<string, FieldMetadata>();
  for (const field of meta.fields) index.set(field.type === 'reference' ? `_${field.name}_value` : field.name, field);
  return index;
}

/** `2024-01-15T10:20:30Z`, the form Dataverse emits: rewritten without a Date round trip (hot path). */
function isWholeSecondUtc(value: string): boolean {
  return value.length === 20 && value.charCodeAt(19) === 90 /* Z */ && value.charCodeAt(10) === 84; /* T */
}

function normalise(field: FieldMetadata | undefined, value: unknown): unknown {
  if (value === null || value === undefined || !field) return value ?? null;
  switch (field.type) {
    case 'datetime': {
      if (typeof value !== 'string') return value;
      if (isWholeSecondUtc(value)) return `${value.slice(0, 19)}.000Z`;
      const time = Date.parse(value);
      return Number.isNaN(time) ? value : new Date(time).toISOString();
    }
    case 'date':
      return typeof value === 'string' ? value.slice(0, 10) : value;
    case 'multipicklist':
      if (typeof value !== 'string') return value;
      return value
        .split(',')
        .map((v) => v.trim())
        .filter((v) => v !== '');
    case 'picklist':
      return typeof value === 'number' ? String(value) : value;
    default:
      return value;
  }
}

function lookupValue(
  values: Record<string, unknown>,
  raw: Record<string, unknown>,
  key: string,
  name: string,
  field: FieldMetadata | undefined,
  value: unknown,
): void {
  values[name] = typeof value === 'string' ? value.toLowerCase() : (value ?? null);
  const targets = field?.referenceTo?.length ?? 0;
  if (field && targets === 1) return; // single-target lookups need no @target
  const target = raw[`${key}${LOOKUP_ANNOTATION}`];
  if (typeof target === 'string') values[`${name}@target`] = target;
  else if (value === null && targets > 1) values[`${name}@target`] = null;
}

/** A wire row as a neutral record: lookups renamed, polymorphic targets kept, annotations and etag dropped. */
export function fromDataverseRecord(
  meta: ObjectMetadata,
  raw: Record<string, unknown>,
  index = wireIndex(meta),
): CrmRecord {
  const values: Record<string, unknown> = {};
  for (const key in raw) {
    if (key.includes('@')) continue; // @odata.etag and annotations; lookup targets are read with their lookup
    const value = raw[key];
    const field = index.get(key);
    if (field?.type === 'reference') {
      lookupValue(values, raw, key, field.name, field, value);
      continue;
    }
    if (!field && key.charCodeAt(0) === 95 /* _ */) {
      const lookup = LOOKUP_KEY.exec(key);
      if (lookup) {
        lookupValue(values, raw, key, lookup[1]!, undefined, value);
        continue;
      }
    }
    values[key] = normalise(field, value);
  }
  const id = raw[meta.idField];
  if (typeof id !== 'string') {
    throw new LiaisonError('crm_error', `a ${meta.name} row came back without its ${meta.idField}`);
  }
  return { id: id.toLowerCase(), values };
}

/** Resolves a lookup write to its navigation property and the target's entity set. */
export interface BindResolver {
  /** Entity set name of a table (`account` → `accounts`). */
  entitySet(logicalName: string): string;
}

function number(field: FieldMetadata, value: unknown): number {
  const n = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isFinite(n)) {
    throw new LiaisonError('invalid_input', `value ${JSON.stringify(value)} for ${field.name} is not a number`);
  }
  if ((field.type === 'integer' || field.type === 'picklist' || field.type === 'bigint') && !Number.isInteger(n)) {
    throw new LiaisonError('invalid_input', `value ${JSON.stringify(value)} for ${field.name} is not an integer`);
  }
  return n;
}

function wireValue(field: FieldMetadata, value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (field.type) {
    case 'integer':
    case 'bigint':
    case 'decimal':
    case 'double':
    case 'picklist':
      return number(field, value);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 'true' || value === 'false') return value === 'true';
      throw new LiaisonError('invalid_input', `value ${JSON.stringify(value)} for ${field.name} is not true or false`);
    case 'multipicklist': {
      const list = Array.isArray(value) ? value : String(value).split(',');
      return list.map((v) => String(number(field, String(v).trim()))).join(',');
    }
    case 'datetime': {
      const time = typeof value === 'string' || value instanceof Date ? new Date(value).getTime() : Number.NaN;
      if (Number.isNaN(time))
        throw new LiaisonError('invalid_input', `value ${JSON.stringify(value)} for ${field.name} is not a datetime`);
      return isoSeconds(new Date(time));
    }
    case 'date':
      if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}/.test(value)) return value.slice(0, 10);
      throw new LiaisonError(
        'invalid_input',
        `value ${JSON.stringify(value)} for ${field.name} is not a date (YYYY-MM-DD)`,
      );
    default:
      return value;
  }
}

/**
 * Neutral values as a Dataverse request body. Lookups become `nav@odata.bind: "/<set>(<id>)"`, with the target
 * taken from `<field>@target` for polymorphic lookups. The navigation property is the field's relationshipName
 * for single-target lookups and `<attribute>_<target>` for customer/owner-style ones.
 */
export function toDataverseBody(
  meta: ObjectMetadata,
  values: Record<string, unknown>,
  binds: BindResolver,
  skip: string[] = [],
): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  const skipped = new Set(skip.map((s) => s.toLowerCase()));
  for (const [key, value] of Object.entries(values)) {
    if (key.endsWith('@target')) continue;
    const field = resolveField(meta, key);
    if (skipped.has(field.name) || field.name === meta.idField) continue;
    if (field.type === 'reference') {
      const targets = field.referenceTo ?? [];
      const declared = values[`${key}@target`] ?? values[`${field.name}@target`];
      const target = typeof declared === 'string' ? declared : targets.length === 1 ? targets[0] : undefined;
      if (!target || (targets.length > 0 && !targets.includes(target))) {
        throw new LiaisonError(
          'invalid_input',
          `lookup ${field.name} needs ${field.name}@target set to one of ${targets.join(', ')}`,
        );
      }
      const nav = targets.length > 1 ? `${field.name}_${target}` : (field.relationshipName ?? field.name);
      if (value === null || value === undefined) {
        body[`${nav}@odata.bind`] = null; // clears the lookup in the same PATCH, no separate $ref DELETE
        continue;
      }
      if (typeof value !== 'string' || !/^[0-9a-f-]{36}$/i.test(value)) {
        throw new LiaisonError('invalid_input', `lookup ${field.name} needs a GUID, got ${JSON.stringify(value)}`);
      }
      body[`${nav}@odata.bind`] = `/${binds.entitySet(target)}(${value.toLowerCase()})`;
      continue;
    }
    body[field.name] = wireValue(field, value);
  }
  return body;
}
