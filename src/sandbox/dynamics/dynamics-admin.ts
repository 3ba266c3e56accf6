import type { SandboxAdmin, SandboxFaults } from '../common/sandbox-types.js';
import type { DynamicsAuth } from './dynamics-auth.js';
import { type ApiRequest, type ApiResponse, emptyResponse, jsonResponse, toErrorResponse } from './dynamics-http.js';
import type { ServiceProtection } from './dynamics-limits.js';
import type { SeedIdentities } from './dynamics-seed.js';
import type { DynamicsServer } from './dynamics-server.js';
import type { DynamicsStore, Row } from './dynamics-store.js';
import type { EntityDef } from './dynamics-schema-types.js';
import type { WriteEngine } from './dynamics-write.js';
import { addField, addPicklistValue, changeField, removeField } from './dynamics-admin-schema.js';
import { toWire } from './dynamics-values.js';

/** Dataverse-only admin operations, beyond the shared SandboxAdmin. */
export interface DynamicsAdminExtras {
  /** Sets the service protection window (Dataverse: 6000 requests / 300 s) and clears its counts. */
  setServiceProtection(limits: ServiceProtection): void;
  /** ApplicationRequired columns are enforced by default; real Dataverse does not enforce them (see README). */
  setValidation(settings: { enforceApplicationRequired: boolean }): void;
  /** The current org-wide row version (the next write gets a higher one). */
  currentVersion(): number;
  /** The most Web API requests in flight at once (injected latency included) since the request count was reset. */
  peakConcurrentRequests(): number;
}

interface AdminParts {
  server: DynamicsServer;
  store: DynamicsStore;
  writes: WriteEngine;
  auth: DynamicsAuth;
  identities: SeedIdentities;
}

export function createAdmin(parts: AdminParts): SandboxAdmin & DynamicsAdminExtras {
  const { server, store, writes, auth, identities } = parts;
  const entity = (name: string) => {
    const e = store.entity(name) ?? store.entityBySet(name);
    if (!e) throw new Error(`unknown Dataverse table '${name}'`);
    return e;
  };
  const asUser = (at?: Date) => ({ userId: identities.adminUserId, ...(at ? { at } : {}) });
  return {
    requestCount: () => server.requestCount(),
    requestCounts: () => server.requestCounts(),
    resetRequestCount: () => server.resetCounts(),
    peakConcurrentRequests: () => server.peakConcurrency(),
    requestKinds: () => server.requestKinds(),
    setFaults: (faults: SandboxFaults) => server.faults.set(faults),
    expireTokens: () => auth.expireAll(),
    createRecord: (object, values, options) => {
      const e = entity(object);
      return store.atomic(() => writes.create(e, values, asUser(options?.at)));
    },
    updateRecord: (object, id, values, options) => {
      const e = entity(object);
      const row = store.getById(e, id);
      if (!row) throw new Error(`${e.logicalName} ${id} does not exist`);
      store.atomic(() => writes.update(e, row, values, asUser(options?.at)));
    },
    deleteRecord: (object, id, options) => {
      const e = entity(object);
      if (!writes.remove(e, id.toLowerCase(), options?.at)) throw new Error(`${e.logicalName} ${id} does not exist`);
    },
    getRecord: (object, id) => {
      const e = entity(object);
      const row = store.getById(e, id);
      return row ? wireRow(e.attributes, row) : undefined;
    },
    countRecords: (object, options) => {
      const e = entity(object);
      return store.count(e) + (options?.includeDeleted ? store.countDeleted(e) : 0);
    },
    listIds: (object, limit) => store.listIds(entity(object), limit),
    addField: (object, field) => addField(store, entity(object), field),
    removeField: (object, field) => removeField(store, entity(object), field),
    changeField: (object, field, patch) => changeField(entity(object), field, patch),
    addPicklistValue: (object, field, value) => addPicklistValue(entity(object), field, value),
    setServiceProtection: (limits) => server.window.reset({ ...limits }),
    setValidation: (settings) => {
      writes.validation.enforceApplicationRequired = settings.enforceApplicationRequired;
    },
    currentVersion: () => store.currentVersion(),
  };
}

/** A stored row in wire shape (lookups as `_x_value`, booleans as booleans), without the hidden `_rid`. */
function wireRow(attributes: EntityDef['attributes'], row: Row): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const a of attributes) {
    const name = ['Lookup', 'Customer', 'Owner'].includes(a.type) ? `_${a.logicalName}_value` : a.logicalName;
    out[name] = toWire(a, row[a.logicalName] ?? null);
  }
  return out;
}

/**
 * The same operations over HTTPS for out-of-process users (the CLI's `sandbox start`, benchmarks). Routes are
 * listed in README.md; bodies and answers are JSON.
 */
export function handleAdminHttp(admin: SandboxAdmin & DynamicsAdminExtras, request: ApiRequest): ApiResponse {
  const path = request.url.pathname.replace(/^\/_sandbox\//, '');
  const segments = path.split('/').map(decodeURIComponent);
  let body: Record<string, unknown> = {};
  try {
    if (request.body.trim()) body = JSON.parse(request.body) as Record<string, unknown>;
    const [op, object, id] = segments;
    const at = typeof body.at === 'string' ? new Date(body.at) : undefined;
    const values = (body.values ?? {}) as Record<string, unknown>;
    switch (`${request.method} ${op}`) {
      case 'GET requests':
        return jsonResponse(200, { total: admin.requestCount(), byKind: admin.requestCounts() });
      case 'DELETE requests':
        admin.resetRequestCount();
        return emptyResponse(204);
      case 'PUT faults':
        admin.setFaults(body as SandboxFaults);
        return emptyResponse(204);
      case 'PUT service-protection':
        admin.setServiceProtection(body as unknown as ServiceProtection);
        return emptyResponse(204);
      case 'PUT validation':
        admin.setValidation({ enforceApplicationRequired: body.enforceApplicationRequired !== false });
        return emptyResponse(204);
      case 'POST expire-tokens':
        admin.expireTokens();
        return emptyResponse(204);
      case 'POST records':
        return jsonResponse(201, { id: admin.createRecord(object ?? '', values, at ? { at } : undefined) });
      case 'PATCH records':
        admin.updateRecord(object ?? '', id ?? '', values, at ? { at } : undefined);
        return emptyResponse(204);
      case 'DELETE records':
        admin.deleteRecord(object ?? '', id ?? '', at ? { at } : undefined);
        return emptyResponse(204);
      case 'GET records': {
        if (id) {
          const record = admin.getRecord(object ?? '', id);
          return record
            ? jsonResponse(200, record)
            : jsonResponse(404, { error: { code: '0x80040217', message: `${object} With Id = ${id} Does Not Exist` } });
        }
        const limit = Number(request.url.searchParams.get('limit') ?? '100');
        return jsonResponse(200, {
          count: admin.countRecords(object ?? '', {
            includeDeleted: request.url.searchParams.get('includeDeleted') === 'true',
          }),
          ids: admin.listIds(object ?? '', limit),
        });
      }
      case 'POST fields':
        admin.addField(object ?? '', body);
        return emptyResponse(204);
      case 'PATCH fields':
        admin.changeField(object ?? '', id ?? '', body);
        return emptyResponse(204);
      case 'DELETE fields':
        admin.removeField(object ?? '', id ?? '');
        return emptyResponse(204);
      case 'POST picklist-values':
        admin.addPicklistValue(object ?? '', id ?? '', body as { value: string; label?: string; active?: boolean });
        return emptyResponse(204);
      default:
        return jsonResponse(404, {
          error: { code: '', message: `No admin route ${request.method} /_sandbox/${path}` },
        });
    }
  } catch (error) {
    if (error instanceof Error && !('status' in error))
      return jsonResponse(400, { error: { code: '', message: error.message } });
    return toErrorResponse(error);
  }
}
