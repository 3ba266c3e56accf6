import { normaliseId } from './salesforce-ids.js';
import { SfApiError, type SfField, type SfObject } from './schema-types.js';

/**
 * Conversions between wire values (JSON bodies, CSV cells) and the SQLite columns, with Salesforce's per-field
 * validation. Storage: booleans 0/1, numbers as numbers, datetimes as the wire string `2024-01-15T10:20:30.000+0000`
 * (which sorts correctly as text, so queries compare strings and responses need no conversion), everything else
 * as text.
 */
export type SqlValue = string | number | null;

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?(Z|[+-]\d{2}:?\d{2})?$/;
const EMAIL = /^[^\s@()<>,;:"[\]]+@[^\s@()<>,;:"[\]]+\.[A-Za-z]{2,}$/;

/** `2024-01-15T10:20:30.000+0000`, the JSON datetime format of the REST API. */
export function toWireDateTime(date: Date): string {
  return date.toISOString().slice(0, 23) + '+0000';
}

/** Audit timestamps: Salesforce keeps them to the second, so many records share one SystemModstamp. */
export function toWireSecond(date: Date): string {
  return date.toISOString().slice(0, 19) + '.000+0000';
}

/** Parses an ISO datetime with Z, ±hh:mm or ±hhmm (a missing zone means UTC, as the Bulk API reads it). */
export function parseDateTime(text: string): Date | undefined {
  const m = DATETIME.exec(text);
  if (!m) return undefined;
  const zone = m[8] ?? 'Z';
  const iso = `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6] ?? '00'}.${(m[7] ?? '0').padEnd(3, '0').slice(0, 3)}${zone === 'Z' ? 'Z' : zone.slice(0, 3) + ':' + zone.slice(-2)}`;
  const ms = Date.parse(iso);
  return Number.isNaN(ms) ? undefined : new Date(ms);
}

export function isValidDate(text: string): boolean {
  const m = DATE.exec(text);
  if (!m) return false;
  const d = new Date(`${text}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().startsWith(text);
}

function deserializeError(field: SfField, value: unknown): SfApiError {
  const kind =
    field.type === 'datetime'
      ? 'datetime'
      : field.type === 'date'
        ? 'date'
        : field.type === 'boolean'
          ? 'boolean'
          : 'double';
  return new SfApiError(
    400,
    'JSON_PARSER_ERROR',
    `Cannot deserialize instance of ${kind} from VALUE_STRING value ${String(value)} or request may be missing a required field`,
    [field.name],
  );
}

function numberOf(field: SfField, value: unknown): number {
  const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
  if (!Number.isFinite(n)) throw deserializeError(field, value);
  return n;
}

/** Validates and converts one wire value for `field`; throws the error Salesforce would report. */
export function toColumnValue(object: SfObject, field: SfField, value: unknown): SqlValue {
  if (value === null || value === undefined || value === '') {
    if (field.type === 'boolean') return 0;
    if (field.restrictedPicklist && value !== undefined) {
      throw new SfApiError(
        400,
        'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
        `${field.label}: bad value for restricted picklist field: ${String(value ?? '')}`,
        [field.name],
      );
    }
    return null;
  }
  switch (field.type) {
    case 'boolean':
      if (value === true || value === 'true' || value === 'TRUE' || value === 1) return 1;
      if (value === false || value === 'false' || value === 'FALSE' || value === 0) return 0;
      throw deserializeError(field, value);
    case 'int': {
      const n = Math.trunc(numberOf(field, value));
      if (Math.abs(n) >= 10 ** field.digits) throw outOfRange(field, n);
      return n;
    }
    case 'double':
    case 'currency':
    case 'percent': {
      const n = numberOf(field, value);
      const factor = 10 ** field.scale;
      const rounded = Math.round(n * factor) / factor;
      if (Math.abs(Math.trunc(rounded)) >= 10 ** (field.precision - field.scale)) throw outOfRange(field, n);
      return rounded;
    }
    case 'date': {
      const text = String(value);
      const datePart = text.length > 10 && text[10] === 'T' ? text.slice(0, 10) : text;
      if (!isValidDate(datePart)) throw deserializeError(field, value);
      return datePart;
    }
    case 'datetime': {
      const date =
        typeof value === 'string'
          ? DATE.test(value)
            ? parseDateTime(`${value}T00:00:00Z`)
            : parseDateTime(value)
          : undefined;
      if (!date) throw deserializeError(field, value);
      return toWireDateTime(date);
    }
    case 'id':
    case 'reference': {
      const id = typeof value === 'string' ? normaliseId(value) : undefined;
      if (!id)
        throw new SfApiError(400, 'MALFORMED_ID', `${field.label}: id value of incorrect type: ${String(value)}`, [
          field.name,
        ]);
      return id;
    }
    default:
      return textValue(object, field, typeof value === 'object' ? JSON.stringify(value) : String(value));
  }
}

function outOfRange(field: SfField, n: number): SfApiError {
  return new SfApiError(
    400,
    'NUMBER_OUTSIDE_VALID_RANGE',
    `${field.label}: value outside of valid range on numeric field: ${n}`,
    [field.name],
  );
}

function textValue(_object: SfObject, field: SfField, text: string): string {
  if (field.length > 0 && text.length > field.length) {
    const shown = text.length > 40 ? `${text.slice(0, 37)}...` : text;
    throw new SfApiError(
      400,
      'STRING_TOO_LONG',
      `${field.label}: data value too large: ${shown} (max length=${field.length})`,
      [field.name],
    );
  }
  if (field.type === 'email' && !EMAIL.test(text)) {
    throw new SfApiError(400, 'INVALID_EMAIL_ADDRESS', `${field.label}: invalid email address: ${text}`, [field.name]);
  }
  if (
    field.type === 'picklist' &&
    field.restrictedPicklist &&
    !field.picklistValues.some((p) => p.active && p.value === text)
  ) {
    throw new SfApiError(
      400,
      'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
      `${field.label}: bad value for restricted picklist field: ${text}`,
      [field.name],
    );
  }
  if (field.type === 'multipicklist' && field.restrictedPicklist) {
    for (const part of text.split(';')) {
      if (!field.picklistValues.some((p) => p.active && p.value === part)) {
        throw new SfApiError(
          400,
          'INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST',
          `${field.label}: bad value for restricted picklist field: ${part}`,
          [field.name],
        );
      }
    }
  }
  return text;
}

/** Converts a stored column value back to its JSON wire form. */
export function toWireValue(field: SfField, value: unknown): unknown {
  if (value === null || value === undefined) return field.type === 'boolean' ? false : null;
  if (field.type === 'boolean') return value === 1 || value === true;
  return value;
}

/** The value as a Bulk API CSV cell (booleans `true`/`false`, nulls empty). */
export function toCsvText(field: SfField | undefined, value: unknown): string {
  if (value === null || value === undefined) return '';
  if (field?.type === 'boolean') return value === 1 || value === true ? 'true' : 'false';
  return String(value);
}
