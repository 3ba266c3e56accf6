/**
 * The one audited place where Dataverse query text is built. Every attribute name is resolved against the entity
 * metadata (so a name can never carry query syntax), every value is validated for its column type and written as
 * an OData literal (string quotes doubled), and the finished query string is URL-encoded as a whole.
 */
import { LiaisonError } from '../../core/errors.js';
import type { QueryRequest, SortKey } from '../driver.js';
import type { ComparisonOperator, FilterExpr, FilterValue } from '../filter.js';
import type { FieldMetadata, ObjectMetadata } from '../metadata.js';

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})$/;
const INTEGER = /^-?\d+$/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?$/;

/** Largest URL we send; Dataverse accepts far longer GET URLs, but proxies and logs do not. */
export const MAX_URL_LENGTH = 8_000;
export const MAX_PAGE_SIZE = 5_000;

const OPERATORS: Record<ComparisonOperator, string> = {
  '=': 'eq',
  '!=': 'ne',
  '<': 'lt',
  '<=': 'le',
  '>': 'gt',
  '>=': 'ge',
};

/** Resolves a field name case-insensitively against the metadata; unknown names are an error, never query text. */
export function resolveField(meta: ObjectMetadata, name: string): FieldMetadata {
  const lower = name.toLowerCase();
  const field = meta.fields.find((f) => f.name.toLowerCase() === lower);
  if (!field) {
    throw new LiaisonError(
      'field_not_found',
      `${meta.name} has no attribute "${name}"; check the name (see 'liaison schema show' for the fields of a generated schema)`,
      {
        details: { object: meta.name, field: name },
      },
    );
  }
  return field;
}

/** The property name on the wire: lookups are read and filtered through `_<name>_value`. */
export function wireName(field: FieldMetadata): string {
  return field.type === 'reference' ? `_${field.name}_value` : field.name;
}

/** A string literal: single quotes doubled, nothing else can end it. */
export function stringLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

function invalid(field: FieldMetadata, value: unknown, expected: string): LiaisonError {
  return new LiaisonError(
    'invalid_input',
    `filter value ${JSON.stringify(value)} for ${field.name} is not ${expected}`,
    {
      details: { field: field.name },
    },
  );
}

/**
 * How a fractional-second datetime bound is written. Dataverse exposes datetimes in whole seconds, so for the
 * values a caller can see, `>= 10:00:00.001` means `>= 10:00:01` (ceil) and `> 10:00:00.9` means `> 10:00:00`
 * (floor); adjacent windows `[a, b)` `[b, c)` stay an exact partition because both use the same rounded b.
 */
export type SecondRounding = 'ceil' | 'floor' | 'exact';

const ROUNDING: Record<ComparisonOperator, SecondRounding> = {
  '=': 'exact',
  '!=': 'exact',
  '>=': 'ceil',
  '<': 'ceil',
  '>': 'floor',
  '<=': 'floor',
};

/** Writes one value as an OData literal for the column's type, validating it first. */
export function literal(field: FieldMetadata, value: FilterValue, rounding: SecondRounding = 'exact'): string {
  if (value === null) return 'null';
  switch (field.type) {
    case 'string':
    case 'text':
    case 'email':
    case 'phone':
    case 'url':
      if (typeof value !== 'string') throw invalid(field, value, 'a string');
      return stringLiteral(value);
    case 'integer':
    case 'bigint':
    case 'picklist': {
      const text = typeof value === 'number' ? String(value) : typeof value === 'string' ? value : '';
      if (!INTEGER.test(text)) throw invalid(field, value, 'an integer');
      return text;
    }
    case 'decimal':
    case 'double': {
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value === 'string' && NUMBER.test(value)) return value;
      throw invalid(field, value, 'a number');
    }
    case 'boolean':
      if (typeof value !== 'boolean') throw invalid(field, value, 'true or false');
      return String(value);
    case 'id':
    case 'reference':
      if (typeof value !== 'string' || !GUID.test(value)) throw invalid(field, value, 'a GUID');
      return value.toLowerCase();
    case 'date': {
      const text = typeof value === 'object' && 'date' in value ? value.date : typeof value === 'string' ? value : '';
      if (!DATE.test(text) || Number.isNaN(Date.parse(text))) throw invalid(field, value, 'a date (YYYY-MM-DD)');
      return text;
    }
    case 'datetime':
      return datetimeLiteral(field, value, rounding);
    default:
      throw new LiaisonError(
        'not_supported',
        `filtering on ${field.name} (${field.crmType}) is not supported by the Dynamics driver`,
      );
  }
}

function datetimeLiteral(field: FieldMetadata, value: FilterValue, rounding: SecondRounding): string {
  let text = '';
  if (typeof value === 'object' && value !== null)
    text = 'datetime' in value ? value.datetime : `${value.date}T00:00:00Z`;
  else if (typeof value === 'string') text = DATE.test(value) ? `${value}T00:00:00Z` : value;
  const time = Date.parse(text);
  if (!DATETIME.test(text) || Number.isNaN(time)) throw invalid(field, value, 'an ISO-8601 datetime with a zone');
  if (time % 1000 === 0) return isoSeconds(new Date(time));
  if (rounding === 'exact') return new Date(time).toISOString();
  return isoSeconds(new Date((rounding === 'ceil' ? Math.ceil(time / 1000) : Math.floor(time / 1000)) * 1000));
}

/** Dataverse emits and compares whole seconds in UTC. */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Escapes Dataverse's LIKE wildcards inside a string function argument, so the text matches literally. */
function likeText(text: string): string {
  return text.replace(/[[%_]/g, (c) => `[${c}]`);
}

function compileLike(meta: ObjectMetadata, expr: Extract<FilterExpr, { kind: 'like' }>): string {
  const field = resolveField(meta, expr.field);
  if (!['string', 'text', 'email', 'phone', 'url'].includes(field.type)) {
    throw new LiaisonError('invalid_input', `like needs a text attribute; ${field.name} is ${field.crmType}`);
  }
  const pattern = expr.pattern;
  const name = wireName(field);
  const match = /^(%?)([^%]+)(%?)$/.exec(pattern);
  let body: string;
  if (/^%+$/.test(pattern)) body = `${name} ne null`;
  else if (!match || pattern.includes('_')) {
    throw new LiaisonError(
      'not_supported',
      `like pattern "${pattern}" cannot be expressed in OData: use one run of text with % only at its start and/or end, and no _`,
    );
  } else {
    const [, lead, text = '', trail] = match;
    const arg = stringLiteral(likeText(text));
    if (lead && trail) body = `contains(${name},${arg})`;
    else if (trail) body = `startswith(${name},${arg})`;
    else if (lead) body = `endswith(${name},${arg})`;
    else body = `${name} eq ${stringLiteral(text)}`;
  }
  return expr.negate ? `not (${body})` : body;
}

/** Compiles the neutral filter tree to a `$filter` expression (not yet URL-encoded). */
export function compileFilter(meta: ObjectMetadata, expr: FilterExpr): string {
  switch (expr.kind) {
    case 'and':
    case 'or': {
      if (expr.args.length === 0)
        throw new LiaisonError('invalid_input', `an empty "${expr.kind}" filter group has no meaning`);
      const parts = expr.args.map((arg) => `(${compileFilter(meta, arg)})`);
      return parts.length === 1 ? parts[0]!.slice(1, -1) : parts.join(` ${expr.kind} `);
    }
    case 'not':
      return `not (${compileFilter(meta, expr.arg)})`;
    case 'compare': {
      const field = resolveField(meta, expr.field);
      rejectMultiSelect(field);
      if (expr.value === null && expr.op !== '=' && expr.op !== '!=') {
        throw new LiaisonError('invalid_input', `null can only be compared with = or != (field ${field.name})`);
      }
      return `${wireName(field)} ${OPERATORS[expr.op]} ${literal(field, expr.value, ROUNDING[expr.op])}`;
    }
    case 'in': {
      const field = resolveField(meta, expr.field);
      rejectMultiSelect(field);
      if (expr.values.length === 0)
        throw new LiaisonError('invalid_input', `"in" on ${field.name} needs at least one value`);
      const body = expr.values.map((v) => `${wireName(field)} eq ${literal(field, v)}`).join(' or ');
      return expr.negate ? `not (${body})` : expr.values.length === 1 ? body : `(${body})`;
    }
    case 'like':
      return compileLike(meta, expr);
    case 'null': {
      const field = resolveField(meta, expr.field);
      return `${wireName(field)} ${expr.negate ? 'ne' : 'eq'} null`;
    }
  }
}

function rejectMultiSelect(field: FieldMetadata): void {
  if (field.type === 'multipicklist') {
    throw new LiaisonError(
      'not_supported',
      `comparing the multi-select column ${field.name} is not supported; filter it with "is null" / "is not null"`,
    );
  }
}

/** Query options as name → raw (unencoded) value, kept in a fixed order. */
export type QueryOptions = [string, string][];

/** Encodes the whole query string: every option value is URL-encoded, so `& # + ;` in literals cannot split it. */
export function encodeQuery(options: QueryOptions): string {
  return options.map(([name, value]) => `${name}=${encodeURIComponent(value)}`).join('&');
}

/** `$select` list: id, modstamp and the requested fields, lookups as `_x_value`, each once. */
export function selectList(meta: ObjectMetadata, fields: string[]): string[] {
  const names = new Set<string>([meta.idField, meta.modstampField]);
  for (const name of fields) names.add(wireName(resolveField(meta, name)));
  return [...names];
}

function orderByList(meta: ObjectMetadata, keys: SortKey[]): string {
  return keys
    .map((k) => `${wireName(resolveField(meta, k.field))} ${k.direction === 'desc' ? 'desc' : 'asc'}`)
    .join(',');
}

/** The non-id parts of a query's `$filter`, joined with `and`. */
function baseFilters(meta: ObjectMetadata, request: QueryRequest): string[] {
  const parts: string[] = [];
  if (request.filter) parts.push(compileFilter(meta, request.filter));
  if (request.modifiedSince) {
    const field = resolveField(meta, request.modifiedSince.field ?? meta.modstampField);
    if (request.modifiedSince.from)
      parts.push(`${field.name} ge ${literal(field, { datetime: request.modifiedSince.from }, 'ceil')}`);
    if (request.modifiedSince.to)
      parts.push(`${field.name} lt ${literal(field, { datetime: request.modifiedSince.to }, 'ceil')}`);
  }
  return parts;
}

/**
 * Compiles a query request to one or more relative URLs (`contacts?$select=…`): several only when an `ids` list
 * must be split to keep each URL under MAX_URL_LENGTH.
 */
export function compileQuery(meta: ObjectMetadata, request: QueryRequest, baseUrlLength = 80): string[] {
  const collection = meta.collectionName ?? meta.name;
  const options: QueryOptions = [['$select', selectList(meta, request.fields).join(',')]];
  const filters = baseFilters(meta, request);
  const tail: QueryOptions = [];
  if (request.orderBy?.length) tail.push(['$orderby', orderByList(meta, request.orderBy)]);
  if (request.limit !== undefined) {
    if (!Number.isInteger(request.limit) || request.limit < 1)
      throw new LiaisonError('invalid_input', `limit must be a positive integer, got ${request.limit}`);
    tail.push(['$top', String(request.limit)]);
  }
  const build = (extra?: string): string => {
    const all = extra
      ? [...filters.map((f) => `(${f})`), `(${extra})`]
      : filters.map((f) => (filters.length > 1 ? `(${f})` : f));
    const filter: QueryOptions = all.length ? [['$filter', all.join(' and ')]] : [];
    return `${collection}?${encodeQuery([...options, ...filter, ...tail])}`;
  };
  if (!request.ids) return [build()];
  if (request.ids.length === 0) return [];
  const idField = resolveField(meta, meta.idField);
  const idLiterals = [...new Set(request.ids.map((id) => literal(idField, id)))];
  const urls: string[] = [];
  let chunk: string[] = [];
  const budget = MAX_URL_LENGTH - baseUrlLength - build().length;
  // Each `contactid eq <guid> or ` costs about 3x its raw length once URL-encoded (spaces → %20).
  const perId = encodeURIComponent(`${idField.name} eq ${'0'.repeat(36)} or `).length;
  const perChunk = Math.max(1, Math.floor(budget / perId) - 1);
  for (const id of idLiterals) {
    chunk.push(`${idField.name} eq ${id}`);
    if (chunk.length >= perChunk) {
      urls.push(build(chunk.join(' or ')));
      chunk = [];
    }
  }
  if (chunk.length) urls.push(build(chunk.join(' or ')));
  return urls;
}

/** The record address for an alternate key: `contacts(lia_customernumber='A''1')`, key name checked, value escaped. */
export function alternateKeyPath(meta: ObjectMetadata, keyField: string, value: unknown): string {
  const field = resolveField(meta, keyField);
  if (value === undefined || value === null || value === '') {
    throw new LiaisonError('invalid_input', `upsert needs a value for the key ${field.name}`);
  }
  const text =
    field.type === 'string' ||
    field.type === 'email' ||
    field.type === 'phone' ||
    field.type === 'url' ||
    field.type === 'text'
      ? stringLiteral(String(value))
      : literal(field, value as FilterValue);
  return `${meta.collectionName ?? meta.name}(${field.name}=${encodeURIComponent(text)})`;
}

/** The record address by primary key. */
export function recordPath(meta: ObjectMetadata, id: string): string {
  const field = resolveField(meta, meta.idField);
  return `${meta.collectionName ?? meta.name}(${literal(field, id)})`;
}
