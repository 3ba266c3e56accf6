import type { AccountsService } from '../accounts/accounts-service.js';
import { LiaisonError, isLiaisonError } from '../core/errors.js';
import type { ConnectionSettings, CrmDriver, CrmKind } from '../crm/driver.js';
import type { ObjectMetadata, ObjectSummary } from '../crm/metadata.js';
import { driverModule } from '../crm/registry.js';
import { tableNames } from '../store/store-open.js';
import type { Store } from '../store/store-types.js';
import { planSchema, refusals, type SchemaPlan } from './schema-drift.js';
import { applyChanges } from './schema-ddl.js';
import { mapObjectColumns, ID_COLUMN } from './schema-mapping.js';
import { defaultEnumerationName, schemaNames, toIdentifierPart, type SchemaNames } from './schema-naming.js';
import { findSchema, listAccountSchemas, ownedTables, saveSchema } from './schema-registry.js';
import type { LocalSchema } from './schema-types.js';

/**
 * The wizard: discover → select → map types → plan → apply. Planning reads the CRM and the store but changes
 * nothing; applying runs every object's DDL and registry writes in one transaction.
 */

/** Objects pre-selected in the interactive list. */
export const COMMON_OBJECTS = ['contact', 'account', 'lead', 'opportunity'];

export interface WizardContext {
  store: Store;
  accounts: AccountsService;
  /** Driver factory; the registry's by default (tests pass a fake). */
  createDriver?: (settings: ConnectionSettings) => CrmDriver;
}

export type WizardStep = 'discovering' | 'generating' | 'creating' | 'migrating' | 'unchanged' | 'gone';
export interface WizardProgress {
  object: string;
  step: WizardStep;
}

export interface WizardRequest {
  account: string;
  /** CRM object API names (case-insensitive). Empty or absent: re-check the account's existing schemas. */
  objects?: string[];
  /** `Object.Field` API names narrowing the columns of those objects. */
  fields?: string[];
  onProgress?: (event: WizardProgress) => void;
}

/** A planned run: one schema plan per object found, plus the stored schemas whose CRM object is gone. */
export interface WizardPlan {
  account: string;
  crm: CrmKind;
  plans: SchemaPlan[];
  /** Schemas whose CRM object no longer exists: their tables and data are kept untouched. */
  gone: LocalSchema[];
}

async function withDriver<T>(
  ctx: WizardContext,
  account: string,
  work: (driver: CrmDriver, kind: CrmKind) => Promise<T>,
): Promise<T> {
  const settings = await ctx.accounts.connectionSettings(account);
  const driver = ctx.createDriver ? ctx.createDriver(settings) : driverModule(settings.kind).createDriver(settings);
  try {
    return await work(driver, settings.kind);
  } finally {
    await driver.close();
  }
}

/** The CRM's objects that can be read, for the interactive selection. */
export async function listCrmObjects(ctx: WizardContext, account: string): Promise<ObjectSummary[]> {
  return withDriver(ctx, account, async (driver) => (await driver.listObjects()).filter((o) => o.queryable));
}

function groupFields(fields: string[] | undefined, objects: string[]): Map<string, string[]> {
  const byObject = new Map<string, string[]>();
  const chosen = new Set(objects.map((o) => o.toLowerCase()));
  for (const entry of fields ?? []) {
    const dot = entry.indexOf('.');
    if (dot <= 0 || dot === entry.length - 1)
      throw new LiaisonError('invalid_input', `--fields entry "${entry}" is not OBJECT.FIELD (e.g. Contact.Email)`);
    const object = entry.slice(0, dot).toLowerCase();
    if (!chosen.has(object))
      throw new LiaisonError(
        'invalid_input',
        `--fields names ${entry.slice(0, dot)}, which is not among the chosen objects (${objects.join(', ')})`,
      );
    byObject.set(object, [...(byObject.get(object) ?? []), entry.slice(dot + 1)]);
  }
  return byObject;
}

export async function planWizard(ctx: WizardContext, request: WizardRequest): Promise<WizardPlan> {
  const { store } = ctx;
  const progress = request.onProgress ?? (() => undefined);
  return withDriver(ctx, request.account, async (driver, kind) => {
    const existingSchemas = await listAccountSchemas(store.db, request.account);
    const requested =
      request.objects && request.objects.length > 0 ? request.objects : existingSchemas.map((s) => s.crmObject);
    if (requested.length === 0) {
      throw new LiaisonError(
        'invalid_input',
        `account "${request.account}" has no schemas yet; choose objects with --objects Contact,Account,… (or run in a terminal)`,
      );
    }
    const available = new Map((await driver.listObjects()).map((o) => [o.name.toLowerCase(), o]));
    const found: ObjectSummary[] = [];
    const gone: LocalSchema[] = [];
    for (const name of new Set(requested.map((n) => n.trim()).filter(Boolean))) {
      const summary = available.get(name.toLowerCase());
      const stored = existingSchemas.find((s) => s.crmObject.toLowerCase() === name.toLowerCase());
      if (!summary) {
        if (stored) {
          gone.push(stored);
          progress({ object: stored.crmObject, step: 'gone' });
          continue;
        }
        throw new LiaisonError(
          'object_not_found',
          `the ${kind} account "${request.account}" has no object "${name}"; object names are API names (e.g. Contact, Loyalty_Card__c, lia_loyaltycard)`,
        );
      }
      if (!summary.queryable)
        throw new LiaisonError(
          'object_not_found',
          `object ${summary.name} cannot be read by the user of account "${request.account}"; grant read access in the CRM`,
        );
      if (!found.some((o) => o.name === summary.name)) found.push(summary);
    }
    const fieldsByObject = groupFields(
      request.fields,
      found.map((o) => o.name),
    );

    const names = await allocateNames(ctx, request.account, kind, found, existingSchemas);
    const links = new Map<string, { schema: string; table: string }>();
    for (const s of existingSchemas) links.set(s.crmObject.toLowerCase(), { schema: s.name, table: s.table });
    for (const o of found)
      links.set(o.name.toLowerCase(), { schema: names.get(o.name)!.schema, table: names.get(o.name)!.table });

    const plans: SchemaPlan[] = [];
    for (const summary of found) {
      progress({ object: summary.name, step: 'discovering' });
      let meta: ObjectMetadata;
      try {
        meta = await driver.describeObject(summary.name);
      } catch (error) {
        if (isLiaisonError(error, 'object_not_found'))
          throw new LiaisonError(
            'object_not_found',
            `object ${summary.name} cannot be described for account "${request.account}": ${error.message}`,
            { cause: error },
          );
        throw error;
      }
      progress({ object: meta.name, step: 'generating' });
      const existing = existingSchemas.find((s) => s.crmObject.toLowerCase() === meta.name.toLowerCase());
      const given = fieldsByObject.get(meta.name.toLowerCase());
      const selection = fieldSelection(existing, given, meta);
      const mapped = mapObjectColumns(meta, {
        ...(selection ? { fields: selection } : {}),
        links,
        // A shared (global) option set gives one enumeration for every field that uses it.
        enumerationFor: (field) =>
          field.picklist?.globalName
            ? toIdentifierPart(field.picklist.globalName)
            : defaultEnumerationName(meta.name, field.name),
        ...(existing ? { existing } : {}),
      });
      const now = new Date().toISOString();
      const fresh: LocalSchema = {
        name: names.get(summary.name)!.schema,
        account: request.account,
        crm: kind,
        crmObject: meta.name,
        ...(meta.collectionName && meta.collectionName !== meta.name ? { crmCollection: meta.collectionName } : {}),
        table: names.get(summary.name)!.table,
        idColumn: ID_COLUMN,
        crmIdColumn: mapped.crmIdColumn,
        cursorColumn: mapped.cursorColumn,
        columns: mapped.columns,
        skipped: mapped.skipped,
        ...(selection && !(existing && !existing.selectedFields) ? { selectedFields: selection } : {}),
        createdAt: existing?.createdAt ?? now,
        updatedAt: now,
      };
      plans.push(planSchema(existing, fresh));
    }
    plans.push(
      ...relinkPlans(
        existingSchemas.filter((s) => !found.some((o) => o.name === s.crmObject)),
        links,
      ),
    );
    return { account: request.account, crm: kind, plans, gone };
  });
}

/**
 * Schemas not re-read in this run still gain links to objects chosen now (a reference to Account in Contact gets
 * its link when Account is added later); that needs no CRM call.
 */
function relinkPlans(schemas: LocalSchema[], links: Map<string, { schema: string; table: string }>): SchemaPlan[] {
  const plans: SchemaPlan[] = [];
  for (const existing of schemas) {
    const columns = existing.columns.map((c) => {
      const link =
        c.type === 'reference' && !c.targetColumn && !c.link && c.referenceTo?.length === 1
          ? links.get(c.referenceTo[0]!.toLowerCase())
          : undefined;
      return link ? { ...c, link } : c;
    });
    const changed = columns.filter((c, i) => c !== existing.columns[i]);
    if (changed.length === 0) continue;
    const schema = { ...existing, columns, updatedAt: new Date().toISOString() };
    plans.push({
      schema,
      existing,
      skipped: existing.skipped,
      changes: changed.map((column) => ({
        kind: 'update-column',
        column,
        from: existing.columns.find((c) => c.column === column.column)!,
      })),
    });
  }
  return plans;
}

/** True for a change that only adds a link between local schemas: nothing in the table changes. */
function isLinkOnly(change: SchemaPlan['changes'][number]): boolean {
  if (change.kind !== 'update-column') return false;
  const { link: _a, ...to } = change.column;
  const { link: _b, ...from } = change.from;
  return JSON.stringify(to) === JSON.stringify(from);
}

/**
 * User-given fields must exist (checked by the mapper); a stored selection is re-applied without the fields the CRM
 * dropped, so those surface as orphans instead of errors.
 */
function fieldSelection(
  existing: LocalSchema | undefined,
  given: string[] | undefined,
  meta: ObjectMetadata,
): string[] | undefined {
  if (existing && !existing.selectedFields) return undefined;
  const known = new Set(meta.fields.map((f) => f.name.toLowerCase()));
  const previous = (existing?.selectedFields ?? []).filter((f) => known.has(f.toLowerCase()));
  if (!given && previous.length === 0) return undefined;
  const all = [...previous, ...(given ?? [])];
  return all.filter((f, i) => all.findIndex((g) => g.toLowerCase() === f.toLowerCase()) === i);
}

async function allocateNames(
  ctx: WizardContext,
  account: string,
  kind: CrmKind,
  objects: ObjectSummary[],
  existing: LocalSchema[],
): Promise<Map<string, SchemaNames>> {
  const sameKind = (await ctx.accounts.list()).filter((a) => a.crm === kind).length;
  // An account keeps one naming style: the one its first schemas got (plain while it was the only account of its kind).
  const qualify =
    existing.length > 0 ? !existing.some((s) => s.name === schemaNames(kind, s.crmObject).schema) : sameKind > 1;
  const owned = await ownedTables(ctx.store.db);
  const tables = new Set(await tableNames(ctx.store));
  const out = new Map<string, SchemaNames>();
  for (const object of objects) {
    const stored = existing.find((s) => s.crmObject.toLowerCase() === object.name.toLowerCase());
    if (stored) {
      out.set(object.name, { schema: stored.name, table: stored.table });
      continue;
    }
    let names = schemaNames(kind, object.name, qualify ? account : undefined);
    const taken = async (n: SchemaNames) =>
      (await findSchema(ctx.store.db, n.schema)) !== undefined || owned.has(n.table);
    if (await taken(names)) names = schemaNames(kind, object.name, account);
    if (await taken(names)) {
      throw new LiaisonError(
        'schema_conflict',
        `schema ${names.schema} (table ${names.table}) already exists for another account or object; remove it or rename the account`,
      );
    }
    if (tables.has(names.table)) {
      throw new LiaisonError(
        'schema_conflict',
        `the store already holds a table ${names.table} that Liaison does not own; rename or drop that table, or use another store`,
      );
    }
    out.set(object.name, names);
  }
  return out;
}

/** True when some stored table would change (drift), as opposed to only new tables. */
export function hasDrift(plan: WizardPlan): boolean {
  return plan.gone.length > 0 || plan.plans.some((p) => p.existing && p.changes.some((c) => !isLinkOnly(c)));
}

/** Applies every plan in one transaction; a refusal anywhere means nothing is changed. */
export async function applyWizard(
  ctx: WizardContext,
  plan: WizardPlan,
  onProgress?: (event: WizardProgress) => void,
): Promise<void> {
  const refused = plan.plans.flatMap(refusals);
  if (refused.length > 0) {
    throw new LiaisonError('schema_conflict', `nothing changed: ${refused.map((r) => r.reason).join('; ')}`);
  }
  const { store } = ctx;
  await store.db.transaction().execute(async (trx) => {
    for (const p of plan.plans) {
      if (p.changes.length === 0) {
        // Nothing to migrate; a schema recorded before the CRM's collection name was kept learns it (reads use it).
        if (p.existing && p.existing.crmCollection !== p.schema.crmCollection) await saveSchema(trx, p.schema);
        onProgress?.({ object: p.schema.crmObject, step: 'unchanged' });
        continue;
      }
      onProgress?.({ object: p.schema.crmObject, step: p.existing ? 'migrating' : 'creating' });
      await applyChanges(trx, store.dialect, p);
      await saveSchema(trx, p.schema);
    }
  });
}

/** Plans and applies in one call (no confirmation): for scripts and tests. */
export async function runWizard(ctx: WizardContext, request: WizardRequest): Promise<WizardPlan> {
  const plan = await planWizard(ctx, request);
  await applyWizard(ctx, plan, request.onProgress);
  return plan;
}
