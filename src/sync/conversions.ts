import { LiaisonError } from '../core/errors.js';

/**
 * Conversions applied to each imported field, between the driver's neutral value (see `CrmRecord`) and the local
 * column. They are pure functions, chosen per field in the workflow file.
 *
 * - `default`: typed conversion; datetimes normalised to UTC ISO-8601 (`…Z`), dates `YYYY-MM-DD`.
 * - `date-only`: drops the time part (UTC date of a datetime).
 * - `no-time-offset`: keeps the wall-clock time as the CRM wrote it, with no zone designator, so nothing shifts it.
 * - `raw`: the CRM's value as a string (arrays `;`-joined), no interpretation.
 * - `trim`, `lower`, `upper`: string clean-ups (after the default conversion).
 * - `enum`: CRM picklist value → local enumeration value (through a mapping the caller supplies).
 * - `set`: multi-select → a set: distinct values, sorted, as a string array.
 */
export const CONVERSIONS = [
  'default',
  'date-only',
  'no-time-offset',
  'raw',
  'trim',
  'lower',
  'upper',
  'enum',
  'set',
] as const;
export type Conversion = (typeof CONVERSIONS)[number];

export type ImportValue = string | number | boolean | null | string[];

export interface ConversionContext {
  /** Neutral field type of the source field (from the CRM metadata). */
  fieldType: string;
  /** For `enum`: CRM value → local value; unknown values are kept as-is unless `strictEnum`. */
  enumMap?: ReadonlyMap<string, string>;
  strictEnum?: boolean;
}

export function isConversion(name: string): name is Conversion {
  return (CONVERSIONS as readonly string[]).includes(name);
}

export function convertValue(value: unknown, conversion: Conversion, context: ConversionContext): ImportValue {
  if (value === null || value === undefined) return conversion === 'set' ? [] : null;
  switch (conversion) {
    case 'default':
      return defaultConversion(value, context.fieldType);
    case 'date-only':
      return toDateOnly(value);
    case 'no-time-offset':
      return toWallClock(value);
    case 'raw':
      return Array.isArray(value)
        ? value.map(String).join(';')
        : typeof value === 'object'
          ? JSON.stringify(value)
          : String(value);
    case 'trim':
      return stringOf(defaultConversion(value, context.fieldType))?.trim() ?? null;
    case 'lower':
      return stringOf(defaultConversion(value, context.fieldType))?.toLowerCase() ?? null;
    case 'upper':
      return stringOf(defaultConversion(value, context.fieldType))?.toUpperCase() ?? null;
    case 'enum':
      return mapEnum(value, context);
    case 'set':
      return [
        ...new Set(
          (Array.isArray(value) ? value : String(value).split(/[;,]/)).map((v) => String(v).trim()).filter(Boolean),
        ),
      ].sort();
  }
}

function defaultConversion(value: unknown, fieldType: string): ImportValue {
  switch (fieldType) {
    case 'datetime':
      return toUtcIso(value);
    case 'date':
      return toDateOnly(value);
    case 'boolean':
      return typeof value === 'boolean' ? value : value === 'true' || value === 1 || value === '1';
    case 'integer':
    case 'bigint':
    case 'double':
    case 'decimal': {
      const number = typeof value === 'number' ? value : Number(value);
      if (!Number.isFinite(number)) throw new LiaisonError('invalid_input', `value "${String(value)}" is not a number`);
      return number;
    }
    case 'multipicklist':
      return Array.isArray(value) ? value.map(String) : String(value).split(';');
    default:
      return Array.isArray(value)
        ? value.map(String)
        : typeof value === 'object'
          ? JSON.stringify(value)
          : (value as string | number | boolean);
  }
}

const UTC_MILLIS =
  /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])T([01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}(\+0000|\+00:00|Z)$/;

/** `2024-01-15T10:20:30.000+0200` (Salesforce) or `…Z` (Dataverse) → `2024-01-15T08:20:30.000Z`. */
export function toUtcIso(value: unknown): string {
  const text = String(value);
  // Already UTC with millis (what the drivers hand over): nothing to compute, and this runs once per value.
  // Days 29-31 take the general path, which rolls impossible dates over exactly as before.
  if (UTC_MILLIS.test(text)) return text.endsWith('Z') ? text : `${text.slice(0, 23)}Z`;
  const normalised = text.replace(/([+-]\d{2})(\d{2})$/, '$1:$2');
  const time = Date.parse(normalised);
  if (Number.isNaN(time)) throw new LiaisonError('invalid_input', `value "${text}" is not a date-time`);
  return new Date(time).toISOString();
}

function toDateOnly(value: unknown): string {
  const text = String(value);
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) return text;
  return toUtcIso(text).slice(0, 10);
}

/** The wall-clock part exactly as written: `2024-01-15T10:20:30.000+0200` → `2024-01-15T10:20:30.000`. */
function toWallClock(value: unknown): string {
  const text = String(value);
  const match = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?))?/.exec(text);
  if (!match) throw new LiaisonError('invalid_input', `value "${text}" is not a date-time`);
  return match[2] ? `${match[1]}T${match[2]}` : match[1]!;
}

function mapEnum(value: unknown, context: ConversionContext): ImportValue {
  const convert = (one: unknown): string => {
    const key = String(one);
    const mapped = context.enumMap?.get(key);
    if (mapped === undefined && context.strictEnum) {
      throw new LiaisonError(
        'invalid_input',
        `value "${key}" is not in the local enumeration; run 'liaison enums sync' to add it`,
      );
    }
    return mapped ?? key;
  };
  return Array.isArray(value) ? value.map(convert) : convert(value);
}

function stringOf(value: ImportValue): string | null {
  if (value === null) return null;
  return Array.isArray(value) ? value.join(';') : String(value);
}
