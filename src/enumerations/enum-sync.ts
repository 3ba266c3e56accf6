import { LiaisonError } from '../core/errors.js';
import type { CrmKind } from '../crm/driver.js';
import type { FieldMetadata, ObjectMetadata } from '../crm/metadata.js';
import { driverModule } from '../crm/registry.js';
import { listAccountSchemas, saveSchema } from '../wizard/schema-registry.js';
import type { LocalColumn, LocalSchema } from '../wizard/schema-types.js';
import type { WizardContext } from '../wizard/wizard-service.js';
import { mergeValues, type MergeResult } from './enum-merge.js';
import { findEnumeration, saveEnumeration } from './enum-store.js';
import type { Enumeration, EnumValueType } from './enum-types.js';

/**
 * Enumeration sync: pairs CRM picklists of an account's schemas with local enumerations and merges (or replaces)
 * their values. The CRM side is described fresh on every run; the store side changes in one transaction.
 */

export interface EnumSyncRequest {
  account: string;
  /** `CRM_OBJECT.FIELD=LOCAL_ENUM` pairings (object and field matched case-insensitively). */
  maps?: string[];
  /** Pair every picklist of the account's schemas (with its default or current enumeration). */
  all?: boolean;
  replace?: boolean;
  dryRun?: boolean;
}

export interface EnumSyncItem extends Omit<MergeResult, 'values'> {
  schema: string;
  crmObject: string;
  field: string;
  enumeration: string;
  multi: boolean;
  created: boolean;
}

// Dataverse option values are integer codes with labels; Salesforce picklist values are the text itself. The two
// cannot share an enumeration: a stored 100000000 means nothing to Salesforce.
const VALUE_TYPE: Record<CrmKind, EnumValueType> = { salesforce: 'text', dynamics: 'code' };

const ENUM_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,199}$/;

interface Pairing {
  schema: LocalSchema;
  column: LocalColumn;
  enumeration: string;
}

/** A picklist column of one of the account's schemas, for choosing what to sync. */
export interface PicklistChoice {
  schema: string;
  crmObject: string;
  field: string;
  label?: string;
  multi: boolean;
  /** The enumeration it is paired with now (by default `object_field`). */
  enumeration: string;
}

/** Every picklist column (orphans excluded) of the account's schemas. */
export async function listPicklists(ctx: WizardContext, account: string): Promise<PicklistChoice[]> {
  const schemas = await listAccountSchemas(ctx.store.db, account);
  return schemas.flatMap((s) =>
    s.columns
      .filter((c) => !c.orphan && (c.type === 'picklist' || c.type === 'multipicklist'))
      .map((c) => ({
        schema: s.name,
        crmObject: s.crmObject,
        field: c.crmField,
        ...(c.label ? { label: c.label } : {}),
        multi: c.multiSelect === true,
        enumeration: c.enumeration ?? c.column,
      })),
  );
}

function parseMap(entry: string): { object: string; field: string; enumeration: string } {
  const match = /^([^.=\s]+)\.([^.=\s]+)=(.+)$/.exec(entry.trim());
  if (!match)
    throw new LiaisonError(
      'invalid_input',
      `--map "${entry}" is not CRM_OBJECT.FIELD=LOCAL_ENUM (e.g. Contact.LeadSource=lead_source)`,
    );
  return { object: match[1]!, field: match[2]!, enumeration: match[3]! };
}

function pairings(schemas: LocalSchema[], request: EnumSyncRequest): Pairing[] {
  const isPicklist = (c: LocalColumn) => !c.orphan && (c.type === 'picklist' || c.type === 'multipicklist');
  const out = new Map<string, Pairing>();
  const key = (s: LocalSchema, c: LocalColumn) => `${s.name}\u0000${c.column}`;
  if (request.all) {
    for (const schema of schemas)
      for (const column of schema.columns.filter(isPicklist))
        out.set(key(schema, column), { schema, column, enumeration: column.enumeration ?? column.column });
  }
  for (const entry of request.maps ?? []) {
    const map = parseMap(entry);
    const schema = schemas.find((s) => s.crmObject.toLowerCase() === map.object.toLowerCase());
    if (!schema) {
      throw new LiaisonError(
        'object_not_found',
        `account "${request.account}" has no schema for object "${map.object}"; generate it first with: liaison wizard ${request.account} --objects ${map.object}`,
      );
    }
    const column = schema.columns.find((c) => !c.orphan && c.crmField.toLowerCase() === map.field.toLowerCase());
    if (!column)
      throw new LiaisonError(
        'field_not_found',
        `schema ${schema.name} has no field "${map.field}" (object ${schema.crmObject}); see: liaison schema show ${schema.name}`,
      );
    if (!isPicklist(column))
      throw new LiaisonError(
        'invalid_input',
        `${schema.crmObject}.${column.crmField} is a ${column.crmType ?? column.type} field, not a picklist; only picklists pair with enumerations`,
      );
    if (!ENUM_NAME.test(map.enumeration))
      throw new LiaisonError(
        'invalid_input',
        `enumeration name "${map.enumeration}" must start with a letter and hold only letters, digits, "_", ".", ":" or "-"`,
      );
    out.set(key(schema, column), { schema, column, enumeration: map.enumeration });
  }
  if (!request.all && (request.maps ?? []).length === 0) {
    throw new LiaisonError(
      'invalid_input',
      'name the picklists to sync with --map CRM_OBJECT.FIELD=LOCAL_ENUM, or use --all',
    );
  }
  return [...out.values()];
}

function crmField(meta: ObjectMetadata, pairing: Pairing): FieldMetadata {
  const found = meta.fields.find((f) => f.name.toLowerCase() === pairing.column.crmField.toLowerCase());
  if (!found) {
    throw new LiaisonError(
      'field_not_found',
      `${meta.name}.${pairing.column.crmField} no longer exists in the CRM; re-run 'liaison wizard' to record the drift`,
    );
  }
  if (found.type !== 'picklist' && found.type !== 'multipicklist') {
    throw new LiaisonError(
      'invalid_input',
      `${meta.name}.${found.name} is no longer a picklist in the CRM (${found.crmType}); re-run 'liaison wizard'`,
    );
  }
  return found;
}

export async function syncEnumerations(ctx: WizardContext, request: EnumSyncRequest): Promise<EnumSyncItem[]> {
  const schemas = await listAccountSchemas(ctx.store.db, request.account);
  if (schemas.length === 0) {
    // Distinguish an unknown account from one without schemas.
    await ctx.accounts.show(request.account);
    throw new LiaisonError(
      'schema_not_found',
      `account "${request.account}" has no schemas; generate them first with: liaison wizard ${request.account}`,
    );
  }
  const chosen = pairings(schemas, request);
  const settings = await ctx.accounts.connectionSettings(request.account);
  const driver = ctx.createDriver ? ctx.createDriver(settings) : driverModule(settings.kind).createDriver(settings);
  const described = new Map<string, ObjectMetadata>();
  try {
    for (const pairing of chosen) {
      if (!described.has(pairing.schema.crmObject))
        described.set(pairing.schema.crmObject, await driver.describeObject(pairing.schema.crmObject));
    }
  } finally {
    await driver.close();
  }
  const fields = chosen.map((pairing) => crmField(described.get(pairing.schema.crmObject)!, pairing));

  return ctx.store.db.transaction().execute(async (trx) => {
    const pending = new Map<string, Enumeration>();
    const items: EnumSyncItem[] = [];
    const changedSchemas = new Map<string, LocalSchema>();
    const now = new Date().toISOString();
    for (const [i, pairing] of chosen.entries()) {
      const field = fields[i]!;
      const multi = field.type === 'multipicklist';
      const source = `${request.account}:${pairing.schema.crmObject}.${field.name}`;
      const existing = pending.get(pairing.enumeration) ?? (await findEnumeration(trx, pairing.enumeration));
      const valueType = VALUE_TYPE[settings.kind];
      if (existing && existing.valueType !== valueType) {
        throw new LiaisonError(
          'enum_conflict',
          `enumeration "${pairing.enumeration}" holds ${existing.valueType === 'code' ? 'option codes' : 'text values'} (source ${existing.source}) but ${pairing.schema.crmObject}.${field.name} has ${valueType === 'code' ? 'option codes' : 'text values'}; map it to another enumeration; nothing changed`,
        );
      }
      if (existing && existing.multi !== multi) {
        throw new LiaisonError(
          'enum_conflict',
          `enumeration "${pairing.enumeration}" holds ${existing.multi ? 'multi-select' : 'single'} values (source ${existing.source}) but ${pairing.schema.crmObject}.${field.name} is ${multi ? 'a multi-select' : 'a single-value'} picklist; map it to another enumeration; nothing changed`,
        );
      }
      const merged = mergeValues(
        existing?.values ?? [],
        field.picklist?.values ?? [],
        request.replace ? 'replace' : 'merge',
      );
      const controller = field.picklist?.controllerName;
      const next: Enumeration = {
        name: pairing.enumeration,
        multi,
        valueType,
        source: existing?.source ?? source,
        ...(controller ? { controller } : existing?.controller ? { controller: existing.controller } : {}),
        values: merged.values,
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      pending.set(next.name, next);
      const { values: _values, ...counts } = merged;
      items.push({
        schema: pairing.schema.name,
        crmObject: pairing.schema.crmObject,
        field: field.name,
        enumeration: next.name,
        multi,
        created: !existing,
        ...counts,
      });
      if (pairing.column.enumeration !== pairing.enumeration) {
        const schema = changedSchemas.get(pairing.schema.name) ?? structuredClone(pairing.schema);
        const column = schema.columns.find((c) => c.column === pairing.column.column)!;
        column.enumeration = pairing.enumeration;
        changedSchemas.set(schema.name, { ...schema, updatedAt: now });
      }
    }
    if (!request.dryRun) {
      for (const enumeration of pending.values()) await saveEnumeration(trx, enumeration);
      for (const schema of changedSchemas.values()) await saveSchema(trx, schema);
    }
    return items;
  });
}
