import { type ApiRequest, type ApiResponse, DataverseError, jsonResponse, odataError } from './dynamics-http.js';
import { GUID_PATTERN } from './dynamics-ids.js';
import { csdlDocument } from './dynamics-csdl.js';
import { handleEntityDefinitions, handleGlobalOptionSets } from './dynamics-metadata.js';
import { countEntitySet, queryEntitySet, retrieveRecord } from './dynamics-query.js';
import type { EntityDef } from './dynamics-schema-types.js';
import type { DynamicsStore, Row, SqlValue } from './dynamics-store.js';
import { parseDateValue } from './dynamics-values.js';
import type { SeedIdentities } from './dynamics-seed.js';
import type { Principal } from './dynamics-auth.js';

/**
 * The Web API route table (`/api/data/v9.x/...`): a plain function from request to response, so `$batch`
 * parts go through exactly the same code as top-level requests.
 */

export type RouteKind = 'token' | 'metadata' | 'query' | 'write' | 'batch' | 'other';

export interface WebApiContext {
  store: DynamicsStore;
  apiBase: string;
  identities: SeedIdentities;
  /** Writes (create/update/upsert/delete, bulk messages); injected to keep this file small. */
  write: (
    entity: EntityDef,
    key: string | undefined,
    rest: string[],
    request: ApiRequest,
    principal: Principal,
  ) => ApiResponse;
  batch: (request: ApiRequest, principal: Principal) => ApiResponse;
}

const API_PREFIX = /^\/api\/data\/v9\.[0-2]\//;

/** Classifies a path for request accounting. */
export function routeKind(method: string, pathname: string): RouteKind {
  if (/\/oauth2\/v2\.0\/token$/.test(pathname)) return 'token';
  if (!API_PREFIX.test(pathname)) return 'other';
  const rest = pathname.replace(API_PREFIX, '');
  if (rest.startsWith('$batch')) return 'batch';
  if (/^(EntityDefinitions|GlobalOptionSetDefinitions|RelationshipDefinitions|\$metadata)/.test(rest))
    return 'metadata';
  if (/^WhoAmI/.test(rest)) return 'other';
  return method === 'GET' ? 'query' : 'write';
}

export function isWebApiPath(pathname: string): boolean {
  return API_PREFIX.test(pathname);
}

/** Splits the path after the API base into decoded segments, keeping `/` inside key parentheses. */
export function apiSegments(pathname: string): string[] {
  const rest = pathname.replace(API_PREFIX, '');
  const out: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of rest) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === '/' && depth === 0) {
      out.push(current);
      current = '';
    } else current += ch;
  }
  if (current !== '') out.push(current);
  return out.map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw odataError(`Resource not found for the segment '${s}'.`, 404);
    }
  });
}

/** Parses `(guid)` or `(name='v',other=5)` into a primary id or alternate-key values (typed by the schema). */
export function parseKey(entity: EntityDef, keyText: string): { id: string } | { alternate: Record<string, SqlValue> } {
  if (GUID_PATTERN.test(keyText)) return { id: keyText.toLowerCase() };
  const values: Record<string, SqlValue> = {};
  const re = /\s*([A-Za-z_][\w]*)\s*=\s*('(?:[^']|'')*'|[^,]+)\s*(,|$)/gy;
  let m: RegExpExecArray | null;
  let consumed = 0;
  while ((m = re.exec(keyText)) !== null && m[0] !== '') {
    consumed = re.lastIndex;
    const name = m[1]!;
    const raw = m[2]!.trim();
    const column = name.startsWith('_') && name.endsWith('_value') ? name.slice(1, -6) : name;
    const a = entity.attributes.find((x) => x.logicalName === column);
    if (!a)
      throw odataError(
        `Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${entity.logicalName}'.`,
      );
    if (raw.startsWith("'")) values[column] = raw.slice(1, -1).replace(/''/g, "'");
    else if (GUID_PATTERN.test(raw)) values[column] = raw.toLowerCase();
    else if (a.type === 'DateTime') values[column] = parseDateValue(a, raw) ?? raw;
    else if (/^-?\d+(\.\d+)?$/.test(raw)) values[column] = Number(raw);
    else if (raw === 'true' || raw === 'false') values[column] = raw === 'true' ? 1 : 0;
    else throw odataError(`Bad Request - Error in query syntax.`);
    if (m[3] === '') break;
  }
  if (consumed !== keyText.length || Object.keys(values).length === 0)
    throw odataError('Bad Request - Error in query syntax.');
  const columns = Object.keys(values).sort();
  const matchesKey = entity.keys.some((k) => [...k.attributes].sort().join(',') === columns.join(','));
  if (!matchesKey) {
    throw odataError(
      `The key attributes specified (${columns.join(', ')}) are not defined as an alternate key for the entity ${entity.logicalName}.`,
    );
  }
  return { alternate: values };
}

export function findRow(
  ctx: { store: DynamicsStore },
  entity: EntityDef,
  key: { id: string } | { alternate: Record<string, SqlValue> },
): Row | undefined {
  return 'id' in key ? ctx.store.getById(entity, key.id) : ctx.store.findByKey(entity, key.alternate);
}

export function notFound(entity: EntityDef, keyText: string): DataverseError {
  return new DataverseError(404, '0x80040217', `${entity.logicalName} With Id = ${keyText} Does Not Exist`);
}

/**
 * The systemuser a request acts as: the caller's own user, or the one named by the impersonation headers
 * (`MSCRMCallerID: <systemuserid>` or `CallerObjectId: <Entra object id>`).
 */
export function actingUser(
  ctx: { store: DynamicsStore; identities: SeedIdentities },
  request: ApiRequest,
  principal: Principal,
): string {
  const users = ctx.store.entity('systemuser')!;
  const callerId = request.headers.mscrmcallerid;
  if (callerId) {
    const row = GUID_PATTERN.test(callerId) ? ctx.store.getById(users, callerId) : undefined;
    if (!row) throw new DataverseError(404, '0x80040217', `systemuser With Id = ${callerId} Does Not Exist`);
    return String(row.systemuserid);
  }
  const objectId = request.headers.callerobjectid;
  if (objectId) {
    const row = GUID_PATTERN.test(objectId)
      ? ctx.store.findByKey(users, { azureactivedirectoryobjectid: objectId.toLowerCase() })
      : undefined;
    if (!row) throw new DataverseError(404, '0x80040217', `No systemuser has the Azure AD object id ${objectId}.`);
    return String(row.systemuserid);
  }
  return principal.kind === 'app' ? ctx.identities.appUserId : ctx.identities.adminUserId;
}

/** Dispatches one Web API request (already authenticated). */
export function routeWebApi(ctx: WebApiContext, request: ApiRequest, principal: Principal): ApiResponse {
  const segments = apiSegments(request.url.pathname);
  const first = segments[0] ?? '';
  if (first === '$metadata')
    return csdlDocument(ctx.store.schema, request.url.searchParams.get('annotations') === 'true');
  if (first === '') {
    return jsonResponse(200, {
      '@odata.context': `${ctx.apiBase}$metadata`,
      value: ctx.store.schema.map((e) => ({ name: e.entitySetName, kind: 'EntitySet', url: e.entitySetName })),
    });
  }
  if (first === 'WhoAmI' || first === 'WhoAmI()') {
    const user = actingUser(ctx, request, principal);
    return jsonResponse(200, {
      '@odata.context': `${ctx.apiBase}$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse`,
      BusinessUnitId: ctx.identities.businessUnitId,
      UserId: user,
      OrganizationId: ctx.identities.organizationId,
    });
  }
  if (first.startsWith('EntityDefinitions')) return handleEntityDefinitions(ctx.store, ctx.apiBase, segments, request);
  if (first.startsWith('GlobalOptionSetDefinitions')) return handleGlobalOptionSets(ctx.store, ctx.apiBase, first);
  if (first === '$batch') {
    if (request.method !== 'POST')
      throw new DataverseError(405, '0x80060888', 'The $batch endpoint accepts only POST.');
    return ctx.batch(request, principal);
  }
  const m = /^([A-Za-z_][\w]*)(?:\((.*)\))?$/.exec(first);
  const entity = m?.[1] ? ctx.store.entityBySet(m[1]) : undefined;
  if (!m || !entity) throw odataError(`Resource not found for the segment '${m?.[1] ?? first}'.`, 404);
  const keyText = m[2];
  const rest = segments.slice(1);
  if (request.method === 'GET') {
    if (keyText === undefined && rest.length === 0) return queryEntitySet(ctx, entity, request);
    if (keyText === undefined && rest[0] === '$count') return countEntitySet(ctx, entity, request);
    if (keyText !== undefined && rest.length === 0) {
      const row = findRow(ctx, entity, parseKey(entity, keyText));
      if (!row) throw notFound(entity, keyText);
      return retrieveRecord(ctx, entity, row, request);
    }
    throw odataError(`Resource not found for the segment '${rest[0] ?? first}'.`, 404);
  }
  return ctx.write(entity, keyText, rest, request, principal);
}
