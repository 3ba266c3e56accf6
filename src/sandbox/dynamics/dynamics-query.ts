import {
  type ApiRequest,
  type ApiResponse,
  DataverseError,
  header,
  jsonResponse,
  odataError,
  parsePrefer,
} from './dynamics-http.js';
import { parseFilter, splitTopLevel, ODataSyntaxError } from './dynamics-odata-parser.js';
import { compileFilter, unknownProperty } from './dynamics-odata-sql.js';
import {
  AnnotationFilter,
  compileRenderer,
  projection,
  type Projection,
  renderRecord,
  rowFromRaw,
  sqlColumnNames,
  sqlColumns,
  unsupportedOption,
} from './dynamics-records.js';
import type { EntityDef } from './dynamics-schema-types.js';
import { type DynamicsStore, quoteIdent, type Row, type SqlValue, tableName } from './dynamics-store.js';
import { wireAttributes } from './dynamics-values.js';
import { applyExpand, contextWithExpand, expandColumns, parseExpand } from './dynamics-expand.js';

/**
 * Entity-set queries: $select/$filter/$orderby/$top/$count, server-driven paging with `Prefer: odata.maxpagesize`
 * (keyset on the sort columns, so a million-row export stays O(n)), and change tracking (delta links).
 */

export const MAX_PAGE_SIZE = 5000;
const COUNT_LIMIT = 5000;
const KNOWN_OPTIONS = new Set([
  '$select',
  '$filter',
  '$orderby',
  '$top',
  '$count',
  '$skiptoken',
  '$deltatoken',
  '$expand',
]);

export interface QueryContext {
  store: DynamicsStore;
  /** `https://127.0.0.1:PORT/api/data/v9.2/` */
  apiBase: string;
}

interface OrderTerm {
  column: string;
  desc: boolean;
}

/** What a `$skiptoken` carries: the sort-key values of the last row sent (keyset), plus tracking state. */
interface PageCookie {
  /** Sort values of the last row, then its _rid. */
  k?: SqlValue[];
  /** Track-changes snapshot version (initial sync) or delta window. */
  v?: number;
  t?: number;
  phase?: 'r' | 'd';
  page: number;
}

function encodeCookie(cookie: PageCookie): string {
  const inner = Buffer.from(JSON.stringify(cookie)).toString('base64url');
  return `<cookie pagenumber="${cookie.page}" pagingcookie="${inner}" istracking="${cookie.v !== undefined ? 'True' : 'False'}" />`;
}

function decodeCookie(token: string): PageCookie {
  const m = /pagingcookie="([A-Za-z0-9_-]*)"/.exec(token);
  try {
    if (!m?.[1]) throw new Error('no cookie');
    const parsed = JSON.parse(Buffer.from(m[1], 'base64url').toString('utf8')) as PageCookie;
    if (typeof parsed.page !== 'number') throw new Error('bad cookie');
    return parsed;
  } catch {
    throw odataError('The $skiptoken value is not valid.');
  }
}

function deltaToken(version: number): string {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  return `${version}!${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
}

function parseOrderBy(entity: EntityDef, text: string | null): OrderTerm[] {
  if (!text) return [];
  const wire = wireAttributes(entity);
  return splitTopLevel(text).map((term) => {
    const [name = '', dir = 'asc', ...rest] = term.split(/\s+/);
    const a = wire.get(name);
    if (!a) throw unknownProperty(name, entity);
    if (rest.length > 0 || !['asc', 'desc'].includes(dir.toLowerCase()))
      throw odataError(`Syntax error at position ${name.length + 1} in '${term}'.`);
    return { column: a.logicalName, desc: dir.toLowerCase() === 'desc' };
  });
}

/** Columns Dataverse always fills, so a keyset on them never meets NULL. */
function nonNullColumns(entity: EntityDef): Set<string> {
  return new Set(['_rid', entity.primaryIdAttribute, 'createdon', 'modifiedon', 'versionnumber']);
}

/** The sort terms including the `_rid` tie-breaker, which follows a uniform direction so row values apply. */
function sortTerms(order: OrderTerm[]): OrderTerm[] {
  const uniformDesc = order.length > 0 && order.every((o) => o.desc);
  return [...order, { column: '_rid', desc: uniformDesc }];
}

/**
 * Keyset condition "row comes after `values`". When every term sorts the same way over non-NULL values it is a
 * row-value comparison, which SQLite answers with one index range seek (O(page) per page, O(n) overall); otherwise
 * a NULL-aware OR chain (SQLite sorts NULL first), correct but slower.
 */
function keysetCondition(entity: EntityDef, order: OrderTerm[], values: SqlValue[], params: SqlValue[]): string {
  const terms = sortTerms(order);
  const nonNull = nonNullColumns(entity);
  const uniform = terms.every((t) => t.desc === terms[0]!.desc);
  if (uniform && values.every((v) => v !== null) && (!terms[0]!.desc || terms.every((t) => nonNull.has(t.column)))) {
    params.push(...values);
    return `(${terms.map((t) => quoteIdent(t.column)).join(', ')}) ${terms[0]!.desc ? '<' : '>'} (${terms.map(() => '?').join(', ')})`;
  }
  const ors: string[] = [];
  for (let i = 0; i < terms.length; i++) {
    const parts: string[] = [];
    for (let j = 0; j < i; j++) {
      parts.push(`${quoteIdent(terms[j]!.column)} IS ?`);
      params.push(values[j] ?? null);
    }
    const t = terms[i]!;
    const v = values[i] ?? null;
    const col = quoteIdent(t.column);
    if (!t.desc) {
      if (v === null) parts.push(`${col} IS NOT NULL`);
      else {
        parts.push(`${col} > ?`);
        params.push(v);
      }
    } else if (v === null) parts.push('0');
    else {
      parts.push(`(${col} < ? OR ${col} IS NULL)`);
      params.push(v);
    }
    ors.push(`(${parts.join(' AND ')})`);
  }
  return `(${ors.join(' OR ')})`;
}

function pageSizeFrom(prefer: Map<string, string>): number | undefined {
  const raw = prefer.get('odata.maxpagesize');
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n <= 0) throw odataError(`The value '${raw}' of odata.maxpagesize is not valid.`);
  return Math.min(n, MAX_PAGE_SIZE);
}

function linkWith(ctx: QueryContext, entity: EntityDef, url: URL, extra: Record<string, string>): string {
  const params = new URLSearchParams();
  for (const [k, v] of url.searchParams) if (k !== '$skiptoken' && k !== '$deltatoken') params.set(k, v);
  for (const [k, v] of Object.entries(extra)) params.set(k, v);
  // Keep `$` and `,` readable as Dataverse does; values stay percent-encoded.
  const query = params.toString().replace(/%24/g, '$').replace(/%2C/g, ',');
  return `${ctx.apiBase}${entity.entitySetName}?${query}`;
}

/** GET /<entityset> (also the target of nextLink / deltaLink). */
export function queryEntitySet(ctx: QueryContext, entity: EntityDef, request: ApiRequest): ApiResponse {
  const q = request.url.searchParams;
  for (const bad of ['$skip', '$apply', '$search']) {
    if (q.has(bad))
      throw bad === '$skip' ? odataError('The query parameter $skip is not supported') : unsupportedOption(bad);
  }
  for (const name of q.keys()) {
    // Answering an unknown option (or FetchXML / saved queries, which the sandbox does not run) with every row
    // would be silently wrong; refuse it instead.
    if ((name.startsWith('$') && !KNOWN_OPTIONS.has(name)) || ['fetchXml', 'savedQuery', 'userQuery'].includes(name))
      throw unsupportedOption(name);
  }
  const prefer = parsePrefer(header(request, 'prefer'));
  const annotations = new AnnotationFilter(prefer.get('odata.include-annotations'));
  const p = projection(entity, q.get('$select'), annotations);
  const maxPage = pageSizeFrom(prefer);
  // A nextLink from a tracked query stays tracked even if the client does not resend the preference.
  const skipText = q.get('$skiptoken');
  const tracking =
    prefer.has('odata.track-changes') ||
    q.has('$deltatoken') ||
    (skipText !== null && decodeCookie(skipText).v !== undefined);
  const applied: string[] = [];
  if (maxPage !== undefined) applied.push(`odata.maxpagesize=${maxPage}`);
  // Echo the annotation pattern only in header-safe characters (it is client text).
  if (annotations.any)
    applied.push(
      `odata.include-annotations="${(prefer.get('odata.include-annotations') ?? '').replace(/[^\w.*,-]/g, '')}"`,
    );
  if (tracking) {
    if (!entity.changeTrackingEnabled)
      throw odataError(`Change tracking is not enabled for the entity '${entity.logicalName}'.`);
    for (const opt of ['$filter', '$orderby', '$top', '$count', '$expand']) {
      if (q.has(opt)) throw odataError(`The "${opt}" query parameter isn't supported when Change Tracking is enabled.`);
    }
    applied.push('odata.track-changes');
    return trackedQuery(ctx, entity, request, p, maxPage ?? MAX_PAGE_SIZE, applied);
  }

  const params: SqlValue[] = [];
  const where: string[] = [];
  const filterText = q.get('$filter');
  if (filterText !== null) {
    let node;
    try {
      node = parseFilter(filterText);
    } catch (error) {
      if (error instanceof ODataSyntaxError) throw odataError(error.message);
      throw error;
    }
    const compiled = compileFilter(node, entity, wireAttributes(entity));
    where.push(compiled.sql);
    params.push(...compiled.params);
  }
  const order = parseOrderBy(entity, q.get('$orderby'));
  const topText = q.get('$top');
  let top: number | undefined;
  if (topText !== null) {
    top = Number(topText);
    if (!Number.isInteger(top) || top < 0)
      throw odataError(
        `Invalid value '${topText}' for $top query option found. The $top query option requires a non-negative integer value.`,
      );
  }
  const expand = parseExpand(ctx.store, entity, q.get('$expand'), annotations);
  const body: Record<string, unknown> = { '@odata.context': `${ctx.apiBase}$metadata#${contextWithExpand(p, expand)}` };
  if (q.get('$count') === 'true') {
    const countSql = `SELECT count(*) AS n FROM (SELECT 1 FROM ${tableName(entity)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} LIMIT ${COUNT_LIMIT + 1})`;
    const n = (ctx.store.prepare(countSql).get(...params) as { n: number }).n;
    body['@odata.count'] = Math.min(n, COUNT_LIMIT);
    // Dataverse caps @odata.count at 5000 and says so.
    if (n > COUNT_LIMIT) body['@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded'] = true;
  }
  // $top is ignored when a page size is preferred (documented Dataverse behaviour).
  const pageSize = maxPage ?? (top !== undefined ? Math.min(top, MAX_PAGE_SIZE) : MAX_PAGE_SIZE);
  const pageWanted = maxPage === undefined && top !== undefined ? pageSize : pageSize + 1;
  const skiptoken = q.get('$skiptoken');
  const cookie = skiptoken ? decodeCookie(skiptoken) : undefined;
  const keysetParams: SqlValue[] = [];
  // The keyset goes first so SQLite's planner seeks with it rather than with a range in the user's filter.
  if (cookie?.k) where.unshift(keysetCondition(entity, order, cookie.k, keysetParams));
  const terms = sortTerms(order);
  const orderSql = terms.map((o) => `${quoteIdent(o.column)} ${o.desc ? 'DESC' : 'ASC'}`).join(', ');
  const columns = sqlColumnNames(p);
  for (const c of [...order.map((o) => o.column), ...expandColumns(entity, expand)])
    if (!columns.includes(c)) columns.push(c);
  const sql = `SELECT ${columns.map(quoteIdent).join(', ')} FROM ${tableName(entity)}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${orderSql} LIMIT ${pageWanted}`;
  const raw = ctx.store.prepareRaw(sql).all(...keysetParams, ...params) as SqlValue[][];
  const more = raw.length > pageSize;
  if (more) raw.length = pageSize;
  const base = compileRenderer(ctx.store, p, columns);
  const render =
    expand.length === 0
      ? base
      : (r: SqlValue[]) => {
          const out = base(r);
          applyExpand(ctx.store, expand, rowFromRaw(columns, r), out);
          return out;
        };
  body.value = raw.map(render);
  const rows = more ? [rowFromRaw(columns, raw[raw.length - 1]!)] : [];
  if (more) {
    const last = rows[rows.length - 1]!;
    const next: PageCookie = {
      k: [...order.map((o) => last[o.column] ?? null), last._rid ?? null],
      page: (cookie?.page ?? 1) + 1,
    };
    body['@odata.nextLink'] = linkWith(ctx, entity, request.url, { $skiptoken: encodeCookie(next) });
  }
  return jsonResponse(200, body, applied.length ? { 'Preference-Applied': applied.join(',') } : {});
}

/** Initial track-changes sync (snapshot at version V) and delta queries ($deltatoken=T: changes in (T, V]). */
function trackedQuery(
  ctx: QueryContext,
  entity: EntityDef,
  request: ApiRequest,
  p: Projection,
  pageSize: number,
  applied: string[],
): ApiResponse {
  const q = request.url.searchParams;
  const skiptoken = q.get('$skiptoken');
  const cookie = skiptoken ? decodeCookie(skiptoken) : undefined;
  const deltaText = q.get('$deltatoken');
  let since: number | undefined = cookie?.t;
  if (deltaText !== null && since === undefined) {
    const m = /^(\d+)(!|$)/.exec(deltaText);
    if (!m?.[1])
      throw new DataverseError(400, '0x80044352', `The delta token '${deltaText}' is not valid or has expired.`);
    since = Number(m[1]);
  }
  const snapshot = cookie?.v ?? ctx.store.currentVersion();
  const table = tableName(entity);
  const base = `${ctx.apiBase}$metadata#${p.contextSelect}`;
  const body: Record<string, unknown> = { '@odata.context': since === undefined ? base : `${base}/$delta` };
  const values: Array<Record<string, unknown>> = [];
  const columns = sqlColumnNames(p);
  let next: PageCookie | undefined;
  if (since === undefined) {
    const last = Number(cookie?.k?.[0] ?? 0);
    const raw = ctx.store
      .prepareRaw(`SELECT ${sqlColumns(p)} FROM ${table} WHERE versionnumber <= ? AND _rid > ? ORDER BY _rid LIMIT ?`)
      .all(snapshot, last, pageSize + 1) as SqlValue[][];
    if (raw.length > pageSize) {
      raw.length = pageSize;
      next = { k: [raw[raw.length - 1]![columns.indexOf('_rid')] ?? null], v: snapshot, page: (cookie?.page ?? 1) + 1 };
    }
    const render = compileRenderer(ctx.store, p, columns);
    for (const r of raw) values.push(render(r));
  } else {
    let phase = cookie?.phase ?? 'r';
    let after = Number(cookie?.k?.[0] ?? since);
    if (phase === 'r') {
      const rows = ctx.store
        .prepare(
          `SELECT ${sqlColumns(p)} FROM ${table} WHERE versionnumber > ? AND versionnumber <= ? ORDER BY versionnumber LIMIT ?`,
        )
        .all(after, snapshot, pageSize + 1) as Row[];
      if (rows.length > pageSize) {
        rows.length = pageSize;
        next = {
          k: [rows[rows.length - 1]!.versionnumber ?? null],
          v: snapshot,
          t: since,
          phase: 'r',
          page: (cookie?.page ?? 1) + 1,
        };
      } else {
        phase = 'd';
        after = since;
      }
      for (const row of rows) values.push(renderRecord(ctx.store, p, row));
    }
    if (phase === 'd' && !next) {
      // New and updated rows come before deletions, as RetrieveEntityChanges documents.
      const room = pageSize - values.length;
      const deleted = ctx.store
        .prepare(
          'SELECT id, versionnumber FROM _deleted WHERE entity = ? AND versionnumber > ? AND versionnumber <= ? ORDER BY versionnumber LIMIT ?',
        )
        .all(entity.logicalName, after, snapshot, room + 1) as Array<{ id: string; versionnumber: number }>;
      if (deleted.length > room) {
        deleted.length = room;
        next = {
          k: [deleted[deleted.length - 1]?.versionnumber ?? after],
          v: snapshot,
          t: since,
          phase: 'd',
          page: (cookie?.page ?? 1) + 1,
        };
      }
      for (const d of deleted)
        values.push({
          '@odata.context': `${ctx.apiBase}$metadata#${entity.entitySetName}/$deletedEntity`,
          id: d.id,
          reason: 'deleted',
        });
    }
  }
  body.value = values;
  if (next) body['@odata.nextLink'] = linkWith(ctx, entity, request.url, { $skiptoken: encodeCookie(next) });
  else body['@odata.deltaLink'] = linkWith(ctx, entity, request.url, { $deltatoken: deltaToken(snapshot) });
  return jsonResponse(200, body, { 'Preference-Applied': applied.join(',') });
}

/** GET /<entityset>/$count: a plain-text number (capped at 5000 like @odata.count). */
export function countEntitySet(ctx: QueryContext, entity: EntityDef, request: ApiRequest): ApiResponse {
  const deltaText = request.url.searchParams.get('$deltatoken');
  let n: number;
  if (deltaText !== null) {
    // With a delta token, the number of changes since it: changed rows plus deletions.
    const since = Number(/^(\d+)(!|$)/.exec(deltaText)?.[1] ?? Number.NaN);
    if (!Number.isFinite(since))
      throw new DataverseError(400, '0x80044352', `The delta token '${deltaText}' is not valid or has expired.`);
    const changed = ctx.store
      .prepare(`SELECT count(*) AS n FROM ${tableName(entity)} WHERE versionnumber > ?`)
      .get(since) as { n: number };
    const deleted = ctx.store
      .prepare('SELECT count(*) AS n FROM _deleted WHERE entity = ? AND versionnumber > ?')
      .get(entity.logicalName, since) as { n: number };
    n = changed.n + deleted.n;
  } else n = Math.min(ctx.store.count(entity), COUNT_LIMIT);
  return { status: 200, headers: { 'Content-Type': 'text/plain', 'OData-Version': '4.0' }, body: String(n) };
}

/** GET /<entityset>(key): one record, 404 when missing. */
export function retrieveRecord(ctx: QueryContext, entity: EntityDef, row: Row, request: ApiRequest): ApiResponse {
  const prefer = parsePrefer(header(request, 'prefer'));
  const annotations = new AnnotationFilter(prefer.get('odata.include-annotations'));
  const p = projection(entity, request.url.searchParams.get('$select'), annotations);
  const expand = parseExpand(ctx.store, entity, request.url.searchParams.get('$expand'), annotations);
  const ifNoneMatch = header(request, 'if-none-match');
  // Dataverse answers 304 only without $expand and annotations.
  if (ifNoneMatch && ifNoneMatch === `W/"${String(row.versionnumber)}"` && !annotations.any && expand.length === 0)
    return { status: 304, headers: { 'OData-Version': '4.0' }, body: '' };
  const record = renderRecord(ctx.store, p, row);
  applyExpand(ctx.store, expand, row, record);
  return jsonResponse(200, {
    '@odata.context': `${ctx.apiBase}$metadata#${contextWithExpand(p, expand)}/$entity`,
    ...record,
  });
}
