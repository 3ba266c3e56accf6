import type { SandboxFaults } from '../common/sandbox-types.js';
import { jsonReply, type Handler, type Reply } from './http-server.js';
import { asObject } from './sandbox-context.js';
import type { SalesforceSandboxAdmin } from './sandbox-admin.js';
import { SfApiError } from './schema-types.js';

/**
 * The admin API over HTTPS, for a sandbox started by `liaison sandbox start` (tests in-process use `admin`
 * directly). Served only to loopback clients; no token needed. Routes (all JSON):
 *
 *   GET    /_sandbox/requests                      → {count, counts}
 *   DELETE /_sandbox/requests                      reset the counters
 *   GET    /_sandbox/faults | PUT /_sandbox/faults  SandboxFaults body
 *   POST   /_sandbox/tokens/expire                 expire every token issued so far
 *   GET    /_sandbox/limits | PUT /_sandbox/limits  {dailyApiRequests} → {used, max}
 *   POST   /_sandbox/records/OBJECT                {values, at?} → {id}
 *   GET    /_sandbox/records/OBJECT?limit=N         → {ids} (live, creation order)
 *   GET    /_sandbox/records/OBJECT/count?includeDeleted=true → {count}
 *   GET    /_sandbox/records/OBJECT/ID             → record (404 when unknown)
 *   PATCH  /_sandbox/records/OBJECT/ID             {values, at?}
 *   DELETE /_sandbox/records/OBJECT/ID?at=ISO
 *   POST   /_sandbox/fields/OBJECT                 field definition {name, type, length, picklistValues…}
 *   PATCH  /_sandbox/fields/OBJECT/FIELD           metadata patch, e.g. {length: 120}
 *   DELETE /_sandbox/fields/OBJECT/FIELD
 *   POST   /_sandbox/fields/OBJECT/FIELD/values    {value, label?, active?}
 */
const ok: Reply = { status: 204 };

function atOf(value: unknown): { at: Date } | undefined {
  if (typeof value !== 'string' || value === '') return undefined;
  const at = new Date(value);
  if (Number.isNaN(at.getTime())) throw new SfApiError(400, 'INVALID_INPUT', `invalid "at" timestamp: ${value}`);
  return { at };
}

export function adminHandler(admin: SalesforceSandboxAdmin): Handler {
  return async (ctx) => {
    const parts = ctx.url.pathname
      .split('/')
      .filter((p) => p.length > 0)
      .slice(1)
      .map((p) => {
        try {
          return decodeURIComponent(p);
        } catch {
          return p;
        }
      });
    const [area, a, b, c] = parts;
    const m = ctx.method;
    const body = async () => (m === 'GET' || m === 'DELETE' ? {} : asObject(await ctx.json()));
    if (area === 'requests' && parts.length === 1) {
      if (m === 'GET') return jsonReply(200, { count: admin.requestCount(), counts: admin.requestCounts() });
      if (m === 'DELETE') return (admin.resetRequestCount(), ok);
    }
    if (area === 'faults' && parts.length === 1) {
      if (m === 'GET') return jsonReply(200, admin.faults());
      if (m === 'PUT') return (admin.setFaults((await body()) as SandboxFaults), ok);
    }
    if (area === 'tokens' && a === 'expire' && m === 'POST') return (admin.expireTokens(), ok);
    if (area === 'limits' && parts.length === 1) {
      if (m === 'PUT') {
        const max = Number((await body()).dailyApiRequests);
        if (!Number.isInteger(max) || max < 0)
          throw new SfApiError(400, 'INVALID_INPUT', 'dailyApiRequests must be a non-negative integer');
        admin.setDailyApiLimit(max);
        return ok;
      }
      if (m === 'GET') return jsonReply(200, admin.apiUsage());
    }
    if (area === 'records' && a) {
      if (!b) {
        if (m === 'POST') {
          const input = await body();
          return jsonReply(201, { id: admin.createRecord(a, asObject(input.values ?? {}), atOf(input.at)) });
        }
        if (m === 'GET')
          return jsonReply(200, { ids: admin.listIds(a, Number(ctx.url.searchParams.get('limit') ?? 1000)) });
      } else if (b === 'count' && m === 'GET') {
        return jsonReply(200, {
          count: admin.countRecords(a, { includeDeleted: ctx.url.searchParams.get('includeDeleted') === 'true' }),
        });
      } else if (m === 'GET') {
        const record = admin.getRecord(a, b);
        return record
          ? jsonReply(200, record)
          : jsonReply(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
      } else if (m === 'PATCH') {
        const input = await body();
        return (admin.updateRecord(a, b, asObject(input.values ?? {}), atOf(input.at)), ok);
      } else if (m === 'DELETE') {
        return (admin.deleteRecord(a, b, atOf(ctx.url.searchParams.get('at'))), ok);
      }
    }
    if (area === 'fields' && a) {
      if (!b && m === 'POST') return (admin.addField(a, await body()), ok);
      if (b && !c && m === 'PATCH') return (admin.changeField(a, b, await body()), ok);
      if (b && !c && m === 'DELETE') return (admin.removeField(a, b), ok);
      if (b && c === 'values' && m === 'POST') {
        const input = await body();
        return (
          admin.addPicklistValue(a, b, {
            value: String(input.value),
            ...(input.label !== undefined ? { label: String(input.label) } : {}),
            ...(input.active !== undefined ? { active: input.active !== false } : {}),
          }),
          ok
        );
      }
    }
    throw new SfApiError(404, 'NOT_FOUND', `unknown sandbox admin route: ${m} ${ctx.url.pathname}`);
  };
}
