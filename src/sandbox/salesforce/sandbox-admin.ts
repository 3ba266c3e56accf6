import type { SandboxAdmin, SandboxFaults } from '../common/sandbox-types.js';
import { indexObject, makeField, picklistEntries } from './schema-catalog.js';
import { q, type RecordStore } from './record-store.js';
import { SfApiError, type SfFieldType, type SfPicklistEntry } from './schema-types.js';
import type { QueryCursors } from './query-cursors.js';
import { normaliseId } from './salesforce-ids.js';

/** The Salesforce sandbox's admin interface: the shared SandboxAdmin plus the org's API limit. */
export interface SalesforceSandboxAdmin extends SandboxAdmin {
  /** Sets the daily API request limit (DailyApiRequests.Max); usage so far is kept. */
  setDailyApiLimit(max: number): void;
  apiUsage(): { used: number; max: number };
  /** Current faults (as last set). */
  faults(): SandboxFaults;
}

/** Request accounting and fault state shared by the HTTP front and the admin. */
export class Accounting {
  total = 0;
  byKind: Record<string, number> = {};
  /** Arrival order, so tests can see which requests a client sent before which answers. */
  sequence: string[] = [];
  faults: SandboxFaults = {};
  /** Data requests since the faults were set: what `resetOnRequest` and `downAfterRequests` count. */
  dataRequests = 0;

  constructor(readonly limits: { dailyApiRequests: number; used: number }) {}

  count(kind: string): void {
    this.total++;
    this.byKind[kind] = (this.byKind[kind] ?? 0) + 1;
    if (this.sequence.length < 10_000) this.sequence.push(kind);
  }

  /** Counts a data request and says which injected fault it meets: the CRM is down, or its connection resets. */
  dataFault(): 'down' | 'reset' | 'none' {
    this.dataRequests++;
    const f = this.faults;
    if (f.down || (f.downAfterRequests !== undefined && this.dataRequests > f.downAfterRequests)) return 'down';
    if (f.resetOnRequest !== undefined && this.dataRequests === f.resetOnRequest) return 'reset';
    return 'none';
  }
}

const FIELD_TYPES = new Set<SfFieldType>([
  'string',
  'textarea',
  'email',
  'phone',
  'url',
  'boolean',
  'int',
  'double',
  'currency',
  'percent',
  'date',
  'datetime',
  'picklist',
  'multipicklist',
  'reference',
]);

function picklistOf(value: unknown): SfPicklistEntry[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value.map((v: unknown) => {
    if (typeof v === 'string') return picklistEntries([v])[0] as SfPicklistEntry;
    const e = v as Partial<SfPicklistEntry>;
    return {
      value: String(e.value),
      label: String(e.label ?? e.value),
      active: e.active !== false,
      defaultValue: e.defaultValue === true,
      validFor: e.validFor ?? null,
    };
  });
}

export function createAdmin(
  store: RecordStore,
  cursors: QueryCursors,
  accounting: Accounting,
  expireTokens: () => void,
): SalesforceSandboxAdmin {
  const schemaChanged = () => {
    store.clearStatements();
    cursors.reset();
  };
  const fieldOf = (objectName: string, fieldName: string) => {
    const object = store.object(objectName);
    const field = object.byName.get(fieldName.toLowerCase());
    if (!field) throw new SfApiError(404, 'INVALID_FIELD', `No such field ${object.name}.${fieldName}`);
    return { object, field };
  };
  return {
    requestCount: () => accounting.total,
    requestCounts: () => ({ ...accounting.byKind }),
    requestKinds: () => [...accounting.sequence],
    resetRequestCount: () => {
      accounting.total = 0;
      accounting.byKind = {};
      accounting.sequence = [];
    },
    setFaults: (faults) => {
      accounting.faults = { ...faults };
      accounting.dataRequests = 0;
    },
    faults: () => ({ ...accounting.faults }),
    expireTokens,
    setDailyApiLimit: (max) => {
      accounting.limits.dailyApiRequests = max;
    },
    apiUsage: () => ({ used: accounting.limits.used, max: accounting.limits.dailyApiRequests }),
    createRecord: (object, values, options) =>
      store.insert(object, values, { admin: true, ...(options?.at ? { at: options.at } : {}) }),
    updateRecord: (object, id, values, options) => {
      store.update(object, id, values, { admin: true, ...(options?.at ? { at: options.at } : {}) });
    },
    deleteRecord: (object, id, options) => {
      store.delete(object, id, { admin: true, ...(options?.at ? { at: options.at } : {}) });
    },
    getRecord: (objectName, id) => {
      const object = store.object(objectName);
      const row = store.row(object, normaliseId(id) ?? id);
      if (!row) return undefined;
      const { attributes: _attributes, ...rest } = store.toWire(object, row, '62.0');
      return rest;
    },
    countRecords: (objectName, options) => {
      const object = store.object(objectName);
      const where = options?.includeDeleted ? '' : ' WHERE "IsDeleted" = 0';
      return store.db
        .prepare(`SELECT count(*) FROM ${q(object.name)}${where}`)
        .pluck()
        .get() as number;
    },
    listIds: (objectName, limit) => {
      const object = store.object(objectName);
      return store.db
        .prepare(`SELECT "Id" FROM ${q(object.name)} WHERE "IsDeleted" = 0 ORDER BY "_rid" LIMIT ?`)
        .pluck()
        .all(limit) as string[];
    },
    addField: (objectName, spec) => {
      const object = store.object(objectName);
      const name = String(spec.name ?? '');
      const type = String(spec.type ?? 'string') as SfFieldType;
      if (!/^[A-Za-z][A-Za-z0-9_]*$/.test(name) || object.byName.has(name.toLowerCase()))
        throw new SfApiError(400, 'DUPLICATE_DEVELOPER_NAME', `invalid or existing field name: ${name}`);
      if (!FIELD_TYPES.has(type))
        throw new SfApiError(400, 'INVALID_TYPE', `field type ${type} is not supported by the sandbox`);
      const { name: _n, type: _t, picklistValues, ...rest } = spec;
      const field = makeField(name, type, rest as Parameters<typeof makeField>[2]);
      const entries = picklistOf(picklistValues);
      if (entries) field.picklistValues = entries;
      object.fields.push(field);
      const column =
        type === 'boolean' || type === 'int'
          ? 'INTEGER'
          : ['double', 'currency', 'percent'].includes(type)
            ? 'REAL'
            : 'TEXT';
      store.db.exec(
        `ALTER TABLE ${q(object.name)} ADD COLUMN ${q(field.name)} ${column}${type === 'boolean' ? ' DEFAULT 0' : ''}`,
      );
      indexObject(object);
      schemaChanged();
    },
    removeField: (objectName, fieldName) => {
      const { object, field } = fieldOf(objectName, fieldName);
      if (field.system || !field.stored)
        throw new SfApiError(400, 'CANNOT_DELETE_FIELD', `field ${field.name} cannot be removed`);
      store.db.exec(`DROP INDEX IF EXISTS ${q(`${object.name}_${field.name}`)}`);
      store.db.exec(`ALTER TABLE ${q(object.name)} DROP COLUMN ${q(field.name)}`);
      object.fields = object.fields.filter((f) => f !== field);
      indexObject(object);
      schemaChanged();
    },
    changeField: (objectName, fieldName, patch) => {
      const { object, field } = fieldOf(objectName, fieldName);
      const { picklistValues, name: _n, type: _t, ...rest } = patch;
      Object.assign(field, rest);
      const entries = picklistOf(picklistValues);
      if (entries) field.picklistValues = entries;
      indexObject(object);
      schemaChanged();
    },
    addPicklistValue: (objectName, fieldName, value) => {
      const { object, field } = fieldOf(objectName, fieldName);
      field.picklistValues.push({
        value: value.value,
        label: value.label ?? value.value,
        active: value.active !== false,
        defaultValue: false,
        validFor: null,
      });
      indexObject(object);
    },
  };
}
