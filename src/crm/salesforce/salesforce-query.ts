import { isLiaisonError, LiaisonError } from '../../core/errors.js';
import type { CrmRecord, QueryRequest, RecordPage } from '../driver.js';
import { filterFields } from '../filter.js';
import type { ObjectMetadata } from '../metadata.js';
import { abortScope } from '../page-streams.js';
import { answerJson, type ApiCall, type SalesforceSession } from './salesforce-auth.js';
import type { SalesforceEarlyAnswers } from './salesforce-early-reads.js';
import { findField } from './salesforce-describe.js';
import {
  checkId,
  compileFilter,
  compileSelect,
  idConditions,
  soqlDateTime,
  soqlString,
  type ResolvedField,
} from './salesforce-soql.js';
import { isPolymorphic, normaliseDateTime, recordMapper } from './salesforce-values.js';

/**
 * Compiles a QueryRequest (resolving every identifier against the describe) and streams the pages of the result,
 * following `nextRecordsUrl` with the next page already requested while the caller works on the current one.
 */

export interface QueryContext {
  session: SalesforceSession;
  /** Answers to this read's first requests, sent before the describe came back (see salesforce-early-reads.ts). */
  early?: SalesforceEarlyAnswers;
  apiVersion: string;
  describe(name: string): Promise<ObjectMetadata>;
  objectByKeyPrefix(): Promise<ReadonlyMap<string, string>>;
}

/** Salesforce accepts batchSize 200–2000 and may return smaller pages anyway. */
export function clampPageSize(pageSize: number | undefined): number | undefined {
  if (pageSize === undefined) return undefined;
  return Math.min(2000, Math.max(200, Math.floor(pageSize)));
}

/** Query URLs beyond ~16k characters are refused (414); stay well under with the ids split. */
const MAX_URL_CHARS = 12_000;
export const MAX_IDS_PER_QUERY = 300;

/** Resolves `Field` or `Parent.Field` (any depth) against metadata, describing parents as needed. */
export async function resolvePath(ctx: QueryContext, meta: ObjectMetadata, path: string): Promise<ResolvedField> {
  const segments = path.split('.');
  let current = meta;
  const canonical: string[] = [];
  for (let i = 0; i < segments.length - 1; i++) {
    const rel = (segments[i] as string).toLowerCase();
    const ref = current.fields.find((f) => f.type === 'reference' && f.relationshipName?.toLowerCase() === rel);
    const target = ref?.referenceTo?.[0];
    if (!ref || !target) {
      throw new LiaisonError(
        'field_not_found',
        `${current.name} has no relationship "${segments[i]}" (in "${path}"); use a reference field's relationship name such as Account`,
      );
    }
    canonical.push(ref.relationshipName as string);
    current = await ctx.describe(target);
  }
  const leaf = segments[segments.length - 1] as string;
  const field = findField(current, leaf);
  if (!field)
    throw new LiaisonError(
      'field_not_found',
      `${current.name} has no field "${leaf}"${segments.length > 1 ? ` (in "${path}")` : ''}; see 'describe ${current.name}'`,
    );
  canonical.push(field.name);
  return { path: canonical.join('.'), field };
}

/** The compiled form of one request: one SOQL per id chunk (or one), the columns, and the endpoint. */
export interface CompiledQuery {
  meta: ObjectMetadata;
  statements: string[];
  columns: ResolvedField[];
  modstamp: ResolvedField;
  /** Conditions without the ids/limit, for slicing. */
  where: string[];
  endpoint: 'query' | 'queryAll';
  /**
   * Set when the caller asked for no order, limit or ids: the driver then orders by (modstamp, Id), so a read can
   * resume after the last record it returned if Salesforce drops the query locator (keyset pagination).
   */
  keyset?: Keyset;
}

/**
 * Builds keyset-ordered statements of one request with extra conditions (and optionally a limit), in ascending
 * (modstamp, Id) order or, with `descending`, the reverse (the newest records first).
 */
export interface Keyset {
  select(extra: string[], limit?: number, descending?: boolean): string;
}

/** The keyset order that makes a read resumable. */
export function keysetOrder(modstamp: string, descending = false): { path: string; direction: 'asc' | 'desc' }[] {
  const direction = descending ? 'desc' : 'asc';
  return [
    { path: modstamp, direction },
    { path: 'Id', direction },
  ];
}

/** `(stamp > S OR (stamp = S AND Id > 'id'))` for the last record returned (both values validated literals). */
export function keysetAfter(modstamp: string, record: Record<string, unknown>): string {
  return keysetBeyond(modstamp, record, '>');
}

/** `(stamp < S OR (stamp = S AND Id < 'id'))`: the records before `record` in keyset order. */
export function keysetBefore(modstamp: string, record: Record<string, unknown>): string {
  return keysetBeyond(modstamp, record, '<');
}

function keysetBeyond(modstamp: string, record: Record<string, unknown>, op: '<' | '>'): string {
  const raw = readRaw(record, modstamp);
  const stamp = soqlDateTime(normaliseDateTime(String(raw)));
  const id = soqlString(checkId(String(record.Id)));
  return `(${modstamp} ${op} ${stamp} OR (${modstamp} = ${stamp} AND Id ${op} ${id}))`;
}

export function readRaw(record: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : null),
      record,
    );
}

/**
 * The record mapper for `columns`. Only a polymorphic reference column needs the key prefixes (describeGlobal),
 * so other queries neither wait for nor spend that call.
 */
export async function mapperFor(ctx: QueryContext, columns: ResolvedField[]): Promise<(raw: unknown) => CrmRecord> {
  const prefixes = columns.some((c) => isPolymorphic(c.field)) ? await ctx.objectByKeyPrefix() : new Map();
  return recordMapper(columns, prefixes);
}

export async function compileQuery(ctx: QueryContext, request: QueryRequest): Promise<CompiledQuery> {
  const meta = await ctx.describe(request.object);
  const cache = new Map<string, ResolvedField>();
  const resolveAsync = async (path: string): Promise<ResolvedField> => {
    const key = path.toLowerCase();
    let resolved = cache.get(key);
    if (!resolved) {
      resolved = await resolvePath(ctx, meta, path);
      cache.set(key, resolved);
    }
    return resolved;
  };
  const modstamp = await resolveAsync(request.modifiedSince?.field ?? meta.modstampField);
  const idField = await resolveAsync(meta.idField);
  const columns: ResolvedField[] = [idField, modstamp];
  for (const path of request.fields) {
    const r = await resolveAsync(path);
    if (!columns.some((c) => c.path === r.path)) columns.push(r);
  }
  // Resolve every filter and sort field first so the synchronous compiler finds them in the cache.
  for (const path of request.filter ? filterFields(request.filter) : []) await resolveAsync(path);
  const orderBy: { path: string; direction: 'asc' | 'desc' }[] = [];
  for (const key of request.orderBy ?? [])
    orderBy.push({ path: (await resolveAsync(key.field)).path, direction: key.direction });
  const resolve = (path: string): ResolvedField => {
    const r = cache.get(path.toLowerCase());
    if (!r) throw new LiaisonError('internal', `field ${path} was not resolved before compiling`);
    return r;
  };
  const where: string[] = [];
  if (request.filter) where.push(compileFilter(request.filter, resolve));
  if (request.modifiedSince?.from) where.push(`${modstamp.path} >= ${soqlDateTime(request.modifiedSince.from)}`);
  if (request.modifiedSince?.to) where.push(`${modstamp.path} < ${soqlDateTime(request.modifiedSince.to)}`);
  const endpoint = request.includeDeleted ? 'queryAll' : 'query';
  // Keyset order needs a cursor field that is never null (SystemModstamp is not).
  const resumable =
    !request.ids &&
    orderBy.length === 0 &&
    request.limit === undefined &&
    !modstamp.field.nillable &&
    modstamp.field.type === 'datetime';
  const select = (extra: string[], order = orderBy, limit = request.limit): string =>
    compileSelect({
      object: meta.name,
      fields: columns.map((c) => c.path),
      where: [...where, ...extra],
      orderBy: order,
      ...(limit !== undefined ? { limit } : {}),
    });
  let statements: string[];
  if (request.ids) {
    if (request.ids.length === 0) {
      statements = [];
    } else {
      const base = `/services/data/v${ctx.apiVersion}/${endpoint}?q=${encodeURIComponent(select([]))}`.length + 64;
      statements = idConditions([...new Set(request.ids)], base, MAX_URL_CHARS, MAX_IDS_PER_QUERY).map((cond) =>
        select([cond]),
      );
    }
  } else {
    statements = [resumable ? select([], keysetOrder(modstamp.path)) : select([])];
  }
  const keyset: Keyset | undefined = resumable
    ? { select: (extra, limit, descending) => select(extra, keysetOrder(modstamp.path, descending), limit) }
    : undefined;
  return { meta, statements, columns, modstamp, where, endpoint, ...(keyset ? { keyset } : {}) };
}

/** The path of a SOQL query's first page. */
export function queryPath(ctx: QueryContext, endpoint: 'query' | 'queryAll', soql: string): string {
  return `/services/data/v${ctx.apiVersion}/${endpoint}?q=${encodeURIComponent(soql)}`;
}

/** A query's headers: JSON, and the page size when one was asked for. */
export function queryHeaders(pageSize?: number): Record<string, string> {
  const batch = clampPageSize(pageSize);
  return { Accept: 'application/json', ...(batch ? { 'Sforce-Query-Options': `batchSize=${batch}` } : {}) };
}

/** A GET's parsed answer: the one asked early for this read when there is one, else asked now. */
export async function getJson(ctx: QueryContext, call: ApiCall): Promise<unknown> {
  return answerJson(await (ctx.early?.take(call) ?? ctx.session.call(call)), call.what);
}

interface RawPage {
  totalSize?: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: unknown[];
}

function asPage(value: unknown, what: string): RawPage {
  const page = value as Partial<RawPage> | null;
  if (!page || typeof page !== 'object' || !Array.isArray(page.records)) {
    throw new LiaisonError('crm_error', `${what}: Salesforce answered without a records list`);
  }
  return page as RawPage;
}

/** How to continue a read whose locator was lost: the SOQL for the records after `last`. */
export type Resume = (last: Record<string, unknown>) => string;

/**
 * One query's raw pages, sequential (a query locator must be read in order), each next page prefetched. When
 * Salesforce no longer knows the locator (INVALID_QUERY_LOCATOR: expired, or released after a last page whose
 * answer was cut) and `resume` is given, the read continues with a new query after the last record returned.
 */
export async function* streamSoql(
  ctx: QueryContext,
  soql: string,
  options: {
    endpoint: 'query' | 'queryAll';
    pageSize?: number;
    signal?: AbortSignal;
    what: string;
    resume?: Resume;
    /** Ask for the next page as soon as one arrives (default), or only when the caller asks for it. */
    prefetch?: boolean;
  },
): AsyncGenerator<RawPage> {
  const scope = abortScope(options.signal);
  const fetchPage = async (path: string): Promise<RawPage> =>
    asPage(
      await getJson(ctx, {
        method: 'GET',
        path,
        headers: queryHeaders(options.pageSize),
        idempotent: true,
        what: options.what,
        signal: scope.signal,
      }),
      options.what,
    );
  const start = (text: string): Promise<RawPage> => fetchPage(queryPath(ctx, options.endpoint, text));
  const prefetch = options.prefetch ?? true;
  let pending: Promise<RawPage> | undefined = start(soql);
  let last: Record<string, unknown> | undefined;
  let resumes = 0;
  try {
    while (pending) {
      let page: RawPage;
      try {
        page = await pending;
      } catch (error) {
        const lost = isLiaisonError(error) && error.details.errorCode === 'INVALID_QUERY_LOCATOR';
        if (!lost || !options.resume || !last || resumes >= 3) throw error;
        resumes++;
        pending = start(options.resume(last));
        continue;
      }
      const next = !page.done && page.nextRecordsUrl ? page.nextRecordsUrl : undefined;
      pending = next && prefetch ? fetchPage(next) : undefined;
      if (page.records.length > 0) last = page.records[page.records.length - 1] as Record<string, unknown>;
      yield page;
      if (next && !prefetch) pending = fetchPage(next);
    }
  } finally {
    // The caller stopped early: the prefetched page is cancelled, and its failure must not go unhandled.
    pending?.catch(() => undefined);
    scope.stop();
  }
}

/** Streams a compiled query as neutral pages, honouring `limit` across id chunks. */
export async function* runCompiled(
  ctx: QueryContext,
  compiled: CompiledQuery,
  request: QueryRequest,
): AsyncGenerator<RecordPage> {
  const map = await mapperFor(ctx, compiled.columns);
  let remaining = request.limit ?? Number.POSITIVE_INFINITY;
  let first = true;
  const what = `query ${compiled.meta.name}`;
  for (const soql of compiled.statements) {
    if (remaining <= 0) break;
    const keyset = compiled.keyset;
    const resume = keyset
      ? { resume: (last: Record<string, unknown>) => keyset.select([keysetAfter(compiled.modstamp.path, last)]) }
      : {};
    for await (const page of streamSoql(ctx, soql, {
      endpoint: compiled.endpoint,
      what,
      ...resume,
      ...(request.pageSize ? { pageSize: request.pageSize } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
    })) {
      let records: CrmRecord[] = page.records.map(map);
      if (records.length > remaining) records = records.slice(0, remaining);
      remaining -= records.length;
      const out: RecordPage = { records };
      if (first && compiled.statements.length === 1 && typeof page.totalSize === 'number')
        out.totalSize = page.totalSize;
      first = false;
      if (records.length > 0 || page.done) yield out;
      if (remaining <= 0) return;
    }
  }
}
