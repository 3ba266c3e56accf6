import { jsonReply, type Reply, type RequestContext, type Route } from './http-server.js';
import { q } from './record-store.js';
import { parseDateTime, toWireDateTime } from './record-values.js';
import { apiRoute, asObject, SUPPORTED_VERSIONS, type SfContext } from './sandbox-context.js';
import { basicInfo, describeGlobal, describeObject } from './schema-describe.js';
import { SfApiError } from './schema-types.js';

/** Discovery, describe, SOQL query/queryAll, single-record CRUD and upsert, getUpdated/getDeleted, limits. */
const DEFAULT_BATCH = 2000;
const MAX_REPLICATION_IDS = 600_000;

export function batchSizeOf(ctx: RequestContext): number {
  const header = String(ctx.req.headers['sforce-query-options'] ?? '');
  const m = /batchSize\s*=\s*(\d+)/i.exec(header);
  if (!m) return DEFAULT_BATCH;
  const n = Number(m[1]);
  // Salesforce honours 200..2000 and falls back to its default otherwise.
  return n >= 200 && n <= 2000 ? n : DEFAULT_BATCH;
}

function query(sf: SfContext, ctx: RequestContext, includeDeleted: boolean): Reply {
  const locator = ctx.params[0];
  if (locator) {
    const m = /^(01g[A-Za-z0-9]{15})(?:-(\d+))?$/.exec(locator);
    if (!m) throw new SfApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    const cursor = sf.cursors.get(m[1] as string);
    return { status: 200, body: sf.cursors.pageBody(cursor, Number(m[2] ?? 0)) };
  }
  const soql = ctx.url.searchParams.get('q');
  if (!soql) throw new SfApiError(400, 'MALFORMED_QUERY', 'A query string has to be specified');
  const compiled = sf.cursors.compile(soql, ctx.version, includeDeleted);
  if (compiled.count)
    return { status: 200, body: `{"totalSize":${sf.cursors.count(compiled)},"done":true,"records":[]}` };
  const cursor = sf.cursors.open(compiled, ctx.version, batchSizeOf(ctx));
  return { status: 200, body: sf.cursors.pageBody(cursor, 0) };
}

function minute(date: Date): Date {
  return new Date(Math.floor(date.getTime() / 60_000) * 60_000);
}

/** The start/end window of getUpdated/getDeleted: seconds ignored, end clamped to now. */
function window(sf: SfContext, ctx: RequestContext, maxDays: number): { start: string; end: string; earliest: Date } {
  const start = parseDateTime(ctx.url.searchParams.get('start') ?? '');
  const end = parseDateTime(ctx.url.searchParams.get('end') ?? '');
  if (!start || !end)
    throw new SfApiError(
      400,
      'INVALID_REPLICATION_DATE',
      'start and end must be valid dateTime values (e.g. 2024-01-15T10:20:00+00:00)',
    );
  const now = sf.clock();
  const earliest = minute(new Date(now.getTime() - maxDays * 86_400_000));
  const s = minute(start);
  const e = minute(end.getTime() > now.getTime() ? now : end);
  if (s.getTime() >= e.getTime())
    throw new SfApiError(400, 'INVALID_REPLICATION_DATE', 'start date must be before end date');
  return { start: toWireDateTime(s), end: toWireDateTime(e), earliest };
}

function deleted(sf: SfContext, ctx: RequestContext): Reply {
  const object = sf.store.object(ctx.params[0] as string);
  const { start, end, earliest } = window(sf, ctx, sf.deletedRetentionDays);
  const t = q(object.name);
  // Purge the recycle bin as Salesforce does: deletions older than the retention window are gone for good.
  sf.store.db.prepare(`DELETE FROM ${t} WHERE "IsDeleted" = 1 AND "_deletedAt" < ?`).run(toWireDateTime(earliest));
  const rows = sf.store.db
    .prepare(
      `SELECT "Id" AS id, "_deletedAt" AS deletedDate FROM ${t} WHERE "IsDeleted" = 1 AND "_deletedAt" >= ? AND "_deletedAt" < ? ORDER BY "_deletedAt" LIMIT ?`,
    )
    .all(start, end, MAX_REPLICATION_IDS + 1);
  if (rows.length > MAX_REPLICATION_IDS)
    throw new SfApiError(400, 'EXCEEDED_ID_LIMIT', 'too many ids: the result exceeds 600000 ids; use a shorter window');
  return jsonReply(200, {
    deletedRecords: rows,
    earliestDateAvailable: toWireDateTime(earliest),
    latestDateCovered: end,
  });
}

function updated(sf: SfContext, ctx: RequestContext): Reply {
  const object = sf.store.object(ctx.params[0] as string);
  const { start, end, earliest } = window(sf, ctx, 30);
  if (start < toWireDateTime(earliest))
    throw new SfApiError(400, 'INVALID_REPLICATION_DATE', 'start date cannot be more than 30 days ago');
  const ids = sf.store.db
    .prepare(
      `SELECT "Id" FROM ${q(object.name)} WHERE "IsDeleted" = 0 AND "SystemModstamp" >= ? AND "SystemModstamp" < ? ORDER BY "SystemModstamp" LIMIT ?`,
    )
    .pluck()
    .all(start, end, MAX_REPLICATION_IDS + 1);
  if (ids.length > MAX_REPLICATION_IDS)
    throw new SfApiError(400, 'EXCEEDED_ID_LIMIT', 'too many ids: the result exceeds 600000 ids; use a shorter window');
  return jsonReply(200, { ids, latestDateCovered: end });
}

function retrieve(sf: SfContext, ctx: RequestContext): Reply {
  const object = sf.store.object(ctx.params[0] as string);
  const row = sf.store.liveRow(object, ctx.params[1] as string);
  const wanted = ctx.url.searchParams.get('fields');
  const fields = wanted
    ? wanted.split(',').map((name) => {
        const f = object.byName.get(name.trim().toLowerCase());
        if (!f)
          throw new SfApiError(
            400,
            'INVALID_FIELD',
            `No such column '${name.trim()}' on entity '${object.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
          );
        return f;
      })
    : undefined;
  return jsonReply(200, sf.store.toWire(object, row, ctx.version, fields));
}

function byExternalId(sf: SfContext, ctx: RequestContext): Reply {
  const [name, fieldName, value] = ctx.params as [string, string, string];
  const object = sf.store.object(name);
  const field = object.byName.get(fieldName.toLowerCase());
  if (!field || !(field.externalId || field.idLookup)) {
    throw new SfApiError(
      404,
      'NOT_FOUND',
      `Provided external ID field does not exist or is not accessible: ${fieldName}`,
    );
  }
  const rows = sf.store.db
    .prepare(`SELECT * FROM ${q(object.name)} WHERE ${q(field.name)} = ? COLLATE NOCASE AND "IsDeleted" = 0 LIMIT 10`)
    .all(value) as Record<string, unknown>[];
  if (rows.length === 0) throw new SfApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
  if (rows.length > 1)
    return jsonReply(
      300,
      rows.map((r) => `/services/data/v${ctx.version}/sobjects/${object.name}/${String(r.Id)}`),
    );
  return jsonReply(200, sf.store.toWire(object, rows[0] as Record<string, unknown>, ctx.version));
}

/** 304 when the metadata has not changed since If-Modified-Since (HTTP date, second precision). */
function notModified(ctx: RequestContext, modifiedAt: number): Reply | undefined {
  const since = Date.parse(String(ctx.req.headers['if-modified-since'] ?? ''));
  if (Number.isNaN(since) || Math.floor(modifiedAt / 1000) * 1000 > since) return undefined;
  return { status: 304, headers: { 'Last-Modified': new Date(modifiedAt).toUTCString() } };
}

function limits(sf: SfContext): Reply {
  const { dailyApiRequests, used } = sf.limits;
  const fixed = (max: number, remaining = max) => ({ Max: max, Remaining: remaining });
  return jsonReply(200, {
    ConcurrentAsyncGetReportInstances: fixed(200),
    DailyApiRequests: fixed(dailyApiRequests, Math.max(0, dailyApiRequests - used)),
    DailyAsyncApexExecutions: fixed(250000),
    DailyBulkApiBatches: fixed(15000),
    DailyBulkV2QueryFileStorageMB: fixed(976562),
    DailyBulkV2QueryJobs: fixed(10000),
    DataStorageMB: fixed(1024),
    FileStorageMB: fixed(1024),
    HourlyTimeBasedWorkflow: fixed(1000),
    SingleEmail: fixed(5000),
  });
}

export function restRoutes(sf: SfContext): Route[] {
  const created = (id: string, version: string, objectName: string): Reply => ({
    status: 201,
    body: JSON.stringify({ id, success: true, errors: [] }),
    headers: { Location: `/services/data/v${version}/sobjects/${objectName}/${id}` },
  });
  return [
    {
      method: 'GET',
      kind: 'other',
      auth: false,
      pattern: /^\/services\/data$/,
      handler: () =>
        jsonReply(
          200,
          SUPPORTED_VERSIONS.map(([version, label]) => ({ label, url: `/services/data/v${version}`, version })),
        ),
    },
    apiRoute('GET', 'other', '', (ctx) => {
      const base = `/services/data/v${ctx.version}`;
      const names = ['sobjects', 'query', 'queryAll', 'limits', 'composite', 'jobs'];
      return jsonReply(200, Object.fromEntries(names.map((n) => [n, `${base}/${n}`])));
    }),
    apiRoute('GET', 'limits', '/limits', () => limits(sf)),
    apiRoute('GET', 'describe', '/sobjects', (ctx) => {
      const changed = Math.max(...[...sf.store.catalog.values()].map((o) => o.modifiedAt));
      return notModified(ctx, changed) ?? jsonReply(200, describeGlobal(sf.store.catalog, ctx.version));
    }),
    apiRoute('GET', 'describe', '/sobjects/([^/]+)/describe', (ctx) => {
      const object = sf.store.object(ctx.params[0] as string);
      return (
        notModified(ctx, object.modifiedAt) ?? jsonReply(200, describeObject(sf.store.catalog, object, ctx.version))
      );
    }),
    apiRoute('GET', 'describe', '/sobjects/([^/]+)', (ctx) =>
      jsonReply(200, basicInfo(sf.store.object(ctx.params[0] as string), ctx.version)),
    ),
    apiRoute('GET', 'query', '/query', (ctx) => query(sf, ctx, false)),
    apiRoute('GET', 'query', '/query/([^/]+)', (ctx) => query(sf, ctx, false)),
    apiRoute('GET', 'query', '/queryAll', (ctx) => query(sf, ctx, true)),
    apiRoute('GET', 'query', '/queryAll/([^/]+)', (ctx) => query(sf, ctx, true)),
    apiRoute('GET', 'sobject', '/sobjects/([^/]+)/deleted', (ctx) => deleted(sf, ctx)),
    apiRoute('GET', 'sobject', '/sobjects/([^/]+)/updated', (ctx) => updated(sf, ctx)),
    apiRoute('POST', 'sobject', '/sobjects/([^/]+)', async (ctx) => {
      const name = ctx.params[0] as string;
      const id = sf.store.insert(name, asObject(await ctx.json()));
      return created(id, ctx.version, sf.store.object(name).name);
    }),
    apiRoute('GET', 'sobject', '/sobjects/([^/]+)/([^/]+)', (ctx) => retrieve(sf, ctx)),
    apiRoute('PATCH', 'sobject', '/sobjects/([^/]+)/([^/]+)', async (ctx) => {
      sf.store.update(ctx.params[0] as string, ctx.params[1] as string, asObject(await ctx.json()));
      return { status: 204 };
    }),
    apiRoute('DELETE', 'sobject', '/sobjects/([^/]+)/([^/]+)', (ctx) => {
      sf.store.delete(ctx.params[0] as string, ctx.params[1] as string);
      return { status: 204 };
    }),
    apiRoute('GET', 'sobject', '/sobjects/([^/]+)/([^/]+)/([^/]+)', (ctx) => byExternalId(sf, ctx)),
    apiRoute('PATCH', 'sobject', '/sobjects/([^/]+)/([^/]+)/([^/]+)', async (ctx) => {
      const [name, field, value] = ctx.params as [string, string, string];
      let result: { id: string; created: boolean };
      try {
        result = sf.store.upsert(name, field, value, asObject(await ctx.json()));
      } catch (error) {
        // 300 Multiple Choices: the body lists the matching records' URLs.
        if (error instanceof SfApiError && error.status === 300)
          return jsonReply(
            300,
            error.message.split(',').map((u) => `/services/data/v${ctx.version}${u}`),
          );
        throw error;
      }
      if (!result.created && Number(ctx.version) < 46) return { status: 204 };
      return jsonReply(result.created ? 201 : 200, {
        id: result.id,
        success: true,
        errors: [],
        created: result.created,
      });
    }),
  ];
}
