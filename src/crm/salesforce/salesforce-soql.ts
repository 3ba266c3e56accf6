import { LiaisonError } from '../../core/errors.js';
import type { FilterExpr, FilterValue } from '../filter.js';
import type { FieldMetadata } from '../metadata.js';

/**
 * The one audited place where SOQL text is built. Identifiers only enter the text after `resolve` matched them
 * against the object's describe (so the spelling is Salesforce's, never the caller's); values only enter as literals
 * produced here: strings quoted and escaped per the SOQL rules, numbers/booleans/dates/datetimes validated strictly.
 */

/** A field path checked against metadata: `path` is the canonical spelling (e.g. `Account.Name`). */
export interface ResolvedField {
  path: string;
  field: FieldMetadata;
}

export type FieldResolver = (path: string) => ResolvedField;

const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '"': '\\"',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '\b': '\\b',
  '\f': '\\f',
};

/**
 * A quoted SOQL string literal. LIKE wildcards (`%`, `_`) are left alone: in a LIKE pattern they are the user's
 * wildcards, and elsewhere SOQL treats them literally.
 */
export function soqlString(value: string): string {
  return `'${value.replace(/[\\'"\n\r\t\b\f]/g, (c) => ESCAPES[c] ?? c)}'`;
}

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;
const DATETIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:?\d{2})$/;

function validDay(y: number, m: number, d: number): boolean {
  const date = new Date(Date.UTC(y, m - 1, d));
  return date.getUTCFullYear() === y && date.getUTCMonth() === m - 1 && date.getUTCDate() === d;
}

/** `YYYY-MM-DD`, checked to be a real calendar date. SOQL date literals are unquoted. */
export function soqlDate(value: string): string {
  const m = DATE.exec(value);
  if (!m || !validDay(Number(m[1]), Number(m[2]), Number(m[3]))) {
    throw new LiaisonError('invalid_input', `"${value}" is not a valid date; write YYYY-MM-DD`);
  }
  return value;
}

/**
 * A datetime with an explicit zone, converted to UTC (`2024-01-15T10:20:30Z`, or with `.sss` when the milliseconds
 * are not zero). A datetime without a zone is refused: Salesforce rejects it, and guessing the zone loses data.
 */
export function soqlDateTime(value: string): string {
  const m = DATETIME.exec(value);
  const ok =
    m &&
    validDay(Number(m[1]), Number(m[2]), Number(m[3])) &&
    Number(m[4]) < 24 &&
    Number(m[5]) < 60 &&
    Number(m[6]) < 60;
  const time = ok ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new LiaisonError(
      'invalid_input',
      `"${value}" is not a valid datetime; write YYYY-MM-DDThh:mm:ss with Z or an offset`,
    );
  }
  const iso = new Date(time).toISOString();
  return iso.endsWith('.000Z') ? `${iso.slice(0, 19)}Z` : iso;
}

function soqlNumber(value: number | string, what: string): string {
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new LiaisonError('invalid_input', `${what}: ${value} is not a finite number`);
    // Avoid exponent notation, which SOQL does not read.
    const text = String(value);
    return /e/i.test(text) ? value.toFixed(20).replace(/\.?0+$/, '') : text;
  }
  if (/^-?\d+(\.\d+)?$/.test(value)) return value;
  throw new LiaisonError('invalid_input', `${what}: "${value}" is not a number`);
}

/** The literal for `value` compared with `field`, typed by the field (a date field takes a date literal, etc.). */
export function soqlLiteral(value: FilterValue, resolved: ResolvedField): string {
  const { field, path } = resolved;
  const what = `filter on ${path}`;
  if (value === null) return 'null';
  if (typeof value === 'object') {
    if ('date' in value) {
      if (field.type !== 'date')
        throw new LiaisonError(
          'invalid_input',
          `${what}: a date value needs a date field (${path} is ${field.crmType})`,
        );
      return soqlDate(value.date);
    }
    if (field.type !== 'datetime')
      throw new LiaisonError(
        'invalid_input',
        `${what}: a datetime value needs a datetime field (${path} is ${field.crmType})`,
      );
    return soqlDateTime(value.datetime);
  }
  switch (field.type) {
    case 'boolean':
      if (typeof value === 'boolean') return String(value);
      if (value === 'true' || value === 'false') return value;
      throw new LiaisonError('invalid_input', `${what}: ${path} is a checkbox; compare it with true or false`);
    case 'integer':
    case 'bigint':
    case 'double':
    case 'decimal':
      if (typeof value === 'boolean') throw new LiaisonError('invalid_input', `${what}: ${path} is a number`);
      return soqlNumber(value, what);
    case 'date':
      if (typeof value !== 'string')
        throw new LiaisonError('invalid_input', `${what}: ${path} is a date; write YYYY-MM-DD`);
      return soqlDate(value);
    case 'datetime':
      if (typeof value !== 'string') throw new LiaisonError('invalid_input', `${what}: ${path} is a datetime`);
      return soqlDateTime(value);
    case 'address':
    case 'location':
      throw new LiaisonError(
        'invalid_input',
        `${what}: compound field ${path} cannot be filtered; filter its components`,
      );
    default:
      return soqlString(String(value));
  }
}

/** Compiles a filter tree; every field goes through `resolve`, every value through `soqlLiteral`. */
export function compileFilter(expr: FilterExpr, resolve: FieldResolver): string {
  switch (expr.kind) {
    case 'and':
    case 'or': {
      if (expr.args.length === 0) {
        // An empty AND is true, an empty OR false; SOQL has neither literal, so use conditions that say so.
        return expr.kind === 'and' ? 'Id != null' : 'Id = null';
      }
      const parts = expr.args.map((arg) => compileFilter(arg, resolve));
      return parts.length === 1 ? (parts[0] as string) : `(${parts.join(expr.kind === 'and' ? ' AND ' : ' OR ')})`;
    }
    case 'not':
      return `(NOT ${wrap(compileFilter(expr.arg, resolve))})`;
    case 'compare': {
      const r = resolve(expr.field);
      if (expr.value === null && expr.op !== '=' && expr.op !== '!=') {
        throw new LiaisonError('invalid_input', `filter on ${r.path}: null can only be compared with = or !=`);
      }
      return `${r.path} ${expr.op} ${soqlLiteral(expr.value, r)}`;
    }
    case 'in': {
      const r = resolve(expr.field);
      if (expr.values.length === 0) return expr.negate ? 'Id != null' : 'Id = null';
      const list = expr.values.map((v) => soqlLiteral(v, r)).join(', ');
      return `${r.path} ${expr.negate ? 'NOT IN' : 'IN'} (${list})`;
    }
    case 'like': {
      const r = resolve(expr.field);
      const text = `${r.path} LIKE ${soqlString(expr.pattern)}`;
      // SOQL has no NOT LIKE operator; NOT applies to the whole condition.
      return expr.negate ? `(NOT ${text})` : text;
    }
    case 'null': {
      const r = resolve(expr.field);
      return `${r.path} ${expr.negate ? '!=' : '='} null`;
    }
  }
}

function wrap(text: string): string {
  return text.startsWith('(') && text.endsWith(')') ? text : `(${text})`;
}

/** A SELECT statement from already-resolved parts. */
export interface SelectParts {
  object: string;
  fields: string[];
  where: string[];
  orderBy?: { path: string; direction: 'asc' | 'desc' }[];
  limit?: number;
}

export function compileSelect(parts: SelectParts): string {
  let soql = `SELECT ${parts.fields.join(', ')} FROM ${parts.object}`;
  const where = parts.where.filter((w) => w.length > 0);
  if (where.length > 0) soql += ` WHERE ${where.length === 1 ? where[0] : where.map(wrap).join(' AND ')}`;
  if (parts.orderBy && parts.orderBy.length > 0) {
    soql += ` ORDER BY ${parts.orderBy.map((o) => `${o.path} ${o.direction === 'desc' ? 'DESC' : 'ASC'}`).join(', ')}`;
  }
  if (parts.limit !== undefined) {
    if (!Number.isInteger(parts.limit) || parts.limit < 0)
      throw new LiaisonError('invalid_input', `limit ${parts.limit} must be a whole number >= 0`);
    soql += ` LIMIT ${parts.limit}`;
  }
  return soql;
}

const ID = /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/;

/** Checks record ids before they enter `Id IN (...)` (they are still quoted and escaped). */
export function checkId(id: string): string {
  if (!ID.test(id))
    throw new LiaisonError('invalid_input', `"${id}" is not a Salesforce record id (15 or 18 letters and digits)`);
  return id;
}

/**
 * Splits ids into `Id IN (...)` conditions so the full query URL stays under `maxUrlChars` (URL-encoded; Salesforce
 * refuses long URIs with 414) and at most `maxIds` per condition.
 */
export function idConditions(ids: string[], baseUrlChars: number, maxUrlChars: number, maxIds: number): string[] {
  const out: string[] = [];
  let current: string[] = [];
  let size = baseUrlChars + encodeURIComponent(' AND Id IN ()').length;
  for (const id of ids) {
    const literal = soqlString(checkId(id));
    const cost = encodeURIComponent(`${literal}, `).length;
    if (current.length > 0 && (size + cost > maxUrlChars || current.length >= maxIds)) {
      out.push(`Id IN (${current.join(', ')})`);
      current = [];
      size = baseUrlChars + encodeURIComponent(' AND Id IN ()').length;
    }
    current.push(literal);
    size += cost;
  }
  if (current.length > 0) out.push(`Id IN (${current.join(', ')})`);
  return out;
}
