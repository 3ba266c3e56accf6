import { LiaisonError } from '../../core/errors.js';
import type { CrmRecord, QueryRequest, RecordPage } from '../driver.js';
import { filterFields } from '../filter.js';
import type { ObjectMetadata } from '../metadata.js';
import type { SalesforceSession } from './salesforce-auth.js';
import { findField } from './salesforce-describe.js';
import { parseJson } from './salesforce-http.js';
import { compileFilter, compileSelect, idConditions, soqlDateTime, type ResolvedField } from './salesforce-soql.js';
import { recordMapper } from './salesforce-values.js';

/**
 * Compiles a QueryRequest (resolving every identifier against the describe) and streams the pages of the result,
 * following `nextRecordsUrl` with the next page already requested while the caller works on the current one.
 */

export interface QueryContext {
  session: SalesforceSession;
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
      throw new LiaisonError('field_not_found', `${current.name} has no relationship "${segments[i]}" (in "${path}"); use a reference field's relationship name such as Account`);
    }
    canonical.push(ref.relationshipName as string);
    current = await ctx.describe(target);
  }
  const leaf = segments[segments.length - 1] as string;
  const field = findField(current, leaf);
  if (!field) throw new LiaisonError('field_not_found', `${current.name} has no field "${leaf}"${segments.length > 1 ? ` (in "${path}")` : ''}; see 'describe ${current.name}'`);
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
  for (const key of request.orderBy ?? []) orderBy.push({ path: (await resolveAsync(key.field)).path, direction: key.direction });
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
  const select = (extra: string[]): string =>
    compileSelect({ object: meta.name, fields: columns.map((c) => c.path), where: [...where, ...extra], orderBy, ...(request.limit !== undefined ? { limit: request.limit } : {}) });
  let statements: string[];
  if (request.ids) {
    if (request.ids.length === 0) {
      statements = [];
    } else {
      const base = `/services/data/v${ctx.apiVersion}/${endpoint}?q=${encodeURIComponent(select([]))}`.length + 64;
      statements = idConditions([...new Set(request.ids)], base, MAX_URL_CHARS, MAX_IDS_PER_QUERY).map((cond) => select([cond]));
    }
  } else {
    statements = [select([])];
  }
  return { meta, statements, columns, modstamp, where, endpoint };
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

/** One query's raw pages, sequential (a query locator must be read in order), each next page prefetched. */
export async function* streamSoql(
  ctx: QueryContext,
  soql: string,
  options: { endpoint: 'query' | 'queryAll'; pageSize?: number; signal?: AbortSignal; what: string },
): AsyncGenerator<RawPage> {
  const batch = clampPageSize(options.pageSize);
  const headers: Record<string, string> = { Accept: 'application/json', ...(batch ? { 'Sforce-Query-Options': `batchSize=${batch}` } : {}) };
  const fetchPage = async (path: string): Promise<RawPage> =>
    asPage(await ctx.session.json({ method: 'GET', path, headers, idempotent: true, what: options.what, ...(options.signal ? { signal: options.signal } : {}) }), options.what);
  let pending: Promise<RawPage> | undefined = fetchPage(`/services/data/v${ctx.apiVersion}/${options.endpoint}?q=${encodeURIComponent(soql)}`);
  try {
    while (pending) {
      const page: RawPage = await pending;
      pending = !page.done && page.nextRecordsUrl ? fetchPage(page.nextRecordsUrl) : undefined;
      yield page;
    }
  } finally {
    // The caller stopped early: the prefetched page is not wanted, but its failure must not go unhandled.
    pending?.catch(() => undefined);
  }
}

/** Streams a compiled query as neutral pages, honouring `limit` across id chunks. */
export async function* runCompiled(ctx: QueryContext, compiled: CompiledQuery, request: QueryRequest): AsyncGenerator<RecordPage> {
  const map = recordMapper(compiled.columns, await ctx.objectByKeyPrefix());
  let remaining = request.limit ?? Number.POSITIVE_INFINITY;
  let first = true;
  const what = `query ${compiled.meta.name}`;
  for (const soql of compiled.statements) {
    if (remaining <= 0) break;
    for await (const page of streamSoql(ctx, soql, { endpoint: compiled.endpoint, what, ...(request.pageSize ? { pageSize: request.pageSize } : {}), ...(request.signal ? { signal: request.signal } : {}) })) {
      let records: CrmRecord[] = page.records.map(map);
      if (records.length > remaining) records = records.slice(0, remaining);
      remaining -= records.length;
      const out: RecordPage = { records };
      if (first && compiled.statements.length === 1 && typeof page.totalSize === 'number') out.totalSize = page.totalSize;
      first = false;
      if (records.length > 0 || page.done) yield out;
      if (remaining <= 0) return;
    }
  }
}
