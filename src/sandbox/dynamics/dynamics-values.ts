import { DataverseError, ErrorCodes, odataError } from './dynamics-http.js';
import { GUID_PATTERN, isoSeconds } from './dynamics-ids.js';
import type { AttributeDef, EntityDef } from './dynamics-schema-types.js';
import type { SqlValue } from './dynamics-store.js';

/** Converts between wire JSON values, stored SQLite values and formatted-value annotations, per attribute type. */

export const LOOKUP_TYPES = new Set(['Lookup', 'Customer', 'Owner']);

export function isLookup(attribute: AttributeDef): boolean {
  return LOOKUP_TYPES.has(attribute.type);
}

/** The property name a column has in record JSON (`_parentcustomerid_value` for lookups). */
export function wireName(attribute: AttributeDef): string {
  return isLookup(attribute) ? `_${attribute.logicalName}_value` : attribute.logicalName;
}

/** Wire property name → attribute, for $select/$filter/$orderby (only readable, exposed columns). */
export function wireAttributes(entity: EntityDef): Map<string, AttributeDef> {
  const map = new Map<string, AttributeDef>();
  for (const a of entity.attributes) if (!a.notOnWire && a.validForRead) map.set(wireName(a), a);
  return map;
}

export function toWire(attribute: AttributeDef, value: SqlValue): unknown {
  if (value === null || value === undefined) return null;
  if (attribute.type === 'Boolean') return value === 1 || value === 1n;
  if (typeof value === 'bigint') return Number(value);
  return value;
}

const EDM_TYPES: Record<string, string> = {
  String: 'Edm.String',
  Memo: 'Edm.String',
  Integer: 'Edm.Int32',
  BigInt: 'Edm.Int64',
  Decimal: 'Edm.Decimal',
  Money: 'Edm.Decimal',
  Double: 'Edm.Double',
  Boolean: 'Edm.Boolean',
  DateTime: 'Edm.DateTimeOffset',
  Picklist: 'Edm.Int32',
  State: 'Edm.Int32',
  Status: 'Edm.Int32',
  MultiSelectPicklist: 'Edm.String',
  Uniqueidentifier: 'Edm.Guid',
};

function cannotConvert(value: unknown, attribute: AttributeDef): DataverseError {
  const edm =
    attribute.type === 'DateTime' && attribute.dateBehavior === 'DateOnly'
      ? 'Edm.Date'
      : (EDM_TYPES[attribute.type] ?? 'Edm.String');
  return odataError(`Cannot convert the literal '${String(value)}' to the expected type '${edm}'.`);
}

function validationError(message: string, code: string = ErrorCodes.validation): DataverseError {
  return new DataverseError(400, code, `A validation error occurred. ${message}`);
}

function checkRange(attribute: AttributeDef, entity: EntityDef, n: number): void {
  const min = attribute.minValue;
  const max = attribute.maxValue;
  if ((min !== undefined && n < min) || (max !== undefined && n > max)) {
    throw validationError(
      `The value ${n} of '${attribute.logicalName}' on record of type '${entity.logicalName}' is outside the valid range. Accepted Values: ${min ?? ''} to ${max ?? ''}`,
    );
  }
}

function checkOption(attribute: AttributeDef, entity: EntityDef, n: number): void {
  const opts = attribute.optionSet?.options ?? [];
  if (!opts.some((o) => o.value === n)) {
    throw validationError(
      `The value ${n} of '${attribute.logicalName}' on record of type '${entity.logicalName}' is outside the valid range. Accepted Values: ${opts.map((o) => o.value).join(',')}`,
      ErrorCodes.invalidOption,
    );
  }
}

/** Parses an incoming datetime as Dataverse does; DateOnly columns keep just the date. */
export function parseDateValue(attribute: AttributeDef, value: string): string | undefined {
  if (attribute.dateBehavior === 'DateOnly') {
    const m = /^(\d{4}-\d{2}-\d{2})(T.*)?$/.exec(value);
    if (!m?.[1] || Number.isNaN(Date.parse(m[1]))) return undefined;
    return m[1];
  }
  if (!/^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)) return undefined;
  const withZone = /T.*(Z|[+-]\d{2}:?\d{2})$/.test(value) || !value.includes('T') ? value : value + 'Z';
  const ms = Date.parse(withZone);
  if (Number.isNaN(ms)) return undefined;
  return isoSeconds(new Date(ms));
}

/** Validates and converts one incoming JSON value for a non-lookup column. */
export function fromWire(attribute: AttributeDef, entity: EntityDef, value: unknown): SqlValue {
  if (value === null) return null;
  switch (attribute.type) {
    case 'String':
    case 'Memo': {
      if (typeof value !== 'string') throw cannotConvert(value, attribute);
      if (attribute.maxLength !== undefined && value.length > attribute.maxLength) {
        throw validationError(
          `The length of the '${attribute.logicalName}' attribute of the '${entity.logicalName}' entity exceeded the maximum allowed length of '${attribute.maxLength}'.`,
        );
      }
      return value;
    }
    case 'Integer':
    case 'BigInt': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw cannotConvert(value, attribute);
      checkRange(attribute, entity, value);
      return value;
    }
    case 'Decimal':
    case 'Money':
    case 'Double': {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw cannotConvert(value, attribute);
      checkRange(attribute, entity, value);
      const precision = attribute.type === 'Double' ? undefined : attribute.precision;
      return precision === undefined ? value : Number(value.toFixed(precision));
    }
    case 'Boolean':
      if (typeof value !== 'boolean') throw cannotConvert(value, attribute);
      return value ? 1 : 0;
    case 'DateTime': {
      const parsed = typeof value === 'string' ? parseDateValue(attribute, value) : undefined;
      if (parsed === undefined) throw cannotConvert(value, attribute);
      return parsed;
    }
    case 'Picklist':
    case 'State':
    case 'Status': {
      if (typeof value !== 'number' || !Number.isInteger(value)) throw cannotConvert(value, attribute);
      checkOption(attribute, entity, value);
      return value;
    }
    case 'MultiSelectPicklist': {
      if (typeof value !== 'string') throw cannotConvert(value, attribute);
      if (value.trim() === '') return null;
      const parts = value.split(',').map((p) => p.trim());
      const numbers = parts.map(Number);
      if (numbers.some((n, i) => !/^-?\d+$/.test(parts[i] ?? '') || !Number.isInteger(n)))
        throw cannotConvert(value, attribute);
      for (const n of numbers) checkOption(attribute, entity, n);
      return [...new Set(numbers)].join(',');
    }
    case 'Uniqueidentifier':
      if (typeof value !== 'string' || !GUID_PATTERN.test(value)) throw cannotConvert(value, attribute);
      return value.toLowerCase();
    default:
      throw odataError(
        `Invalid property '${attribute.logicalName}' was found in entity 'Microsoft.Dynamics.CRM.${entity.logicalName}'.`,
      );
  }
}

const MONEY = new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD' });
const INTEGER = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

function optionLabel(attribute: AttributeDef, n: number): string | undefined {
  return attribute.optionSet?.options.find((o) => o.value === n)?.label;
}

function formatDateTime(value: string, dateOnly: boolean): string {
  const d = new Date(dateOnly ? `${value}T00:00:00Z` : value);
  const date = `${d.getUTCMonth() + 1}/${d.getUTCDate()}/${d.getUTCFullYear()}`;
  if (dateOnly) return date;
  const h = d.getUTCHours();
  const m = String(d.getUTCMinutes()).padStart(2, '0');
  return `${date} ${h % 12 === 0 ? 12 : h % 12}:${m} ${h < 12 ? 'AM' : 'PM'}`;
}

/** The `OData.Community.Display.V1.FormattedValue` of a non-lookup value (users are in UTC, en-US). */
export function formattedValue(attribute: AttributeDef, value: SqlValue): string | undefined {
  if (value === null || value === undefined) return undefined;
  switch (attribute.type) {
    case 'Picklist':
    case 'State':
    case 'Status':
      return optionLabel(attribute, Number(value));
    case 'MultiSelectPicklist':
      return String(value)
        .split(',')
        .map((v) => optionLabel(attribute, Number(v)) ?? v)
        .join('; ');
    case 'Boolean':
      return Number(value) === 1 ? (attribute.trueLabel ?? 'Yes') : (attribute.falseLabel ?? 'No');
    case 'Money':
      return MONEY.format(Number(value));
    case 'Integer':
    case 'BigInt':
      return INTEGER.format(Number(value));
    case 'Decimal':
    case 'Double':
      return Number(value).toLocaleString('en-US', {
        minimumFractionDigits: attribute.precision ?? 2,
        maximumFractionDigits: attribute.precision ?? 5,
      });
    case 'DateTime':
      return formatDateTime(String(value), attribute.dateBehavior === 'DateOnly');
    default:
      return undefined;
  }
}
