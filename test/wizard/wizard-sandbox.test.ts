import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AccountsService } from '../../src/accounts/accounts-service.js';
import type { AccountInput } from '../../src/accounts/account-model.js';
import type { SecretKey } from '../../src/accounts/secret-box.js';
import { driverModule } from '../../src/crm/registry.js';
import { getEnumeration } from '../../src/enumerations/enum-store.js';
import { syncEnumerations } from '../../src/enumerations/enum-sync.js';
import {
  fromStoredMultiSelect,
  multiSelectContains,
  toCrmMultiSelect,
  toStoredMultiSelect,
} from '../../src/enumerations/multi-select.js';
import type { SandboxHandle } from '../../src/sandbox/common/sandbox-types.js';
import { startDynamicsSandbox } from '../../src/sandbox/dynamics/index.js';
import { startSalesforceSandbox } from '../../src/sandbox/salesforce/index.js';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import { refusals } from '../../src/wizard/schema-drift.js';
import { dropOrphans } from '../../src/wizard/schema-maintenance.js';
import { getSchema, listSchemas, saveSchema } from '../../src/wizard/schema-registry.js';
import { applyWizard, hasDrift, planWizard, runWizard, type WizardContext } from '../../src/wizard/wizard-service.js';
import { CRM_CASES } from '../support/crm-cases.js';
import { storeTargets } from '../support/store-targets.js';

/**
 * The wizard and enumeration sync against the real drivers and the HTTPS sandboxes, on every store. Each
 * (CRM, store) pair gets its own sandbox because the drift tests change the CRM's metadata.
 */

const fixedKey = (): SecretKey => ({ key: Buffer.alloc(32, 3), source: 'test key' });

interface CrmCase {
  kind: 'salesforce' | 'dynamics';
  start(): Promise<SandboxHandle>;
  account(sandbox: SandboxHandle): AccountInput;
  objects: string[];
  contact: string;
  prefix: string;
  custom: { object: string; lookup: string };
  multi: { field: string; newValue: { value: string; label: string } };
  added: Record<string, unknown>;
  addedColumn: string;
  removed: string;
  widened: { field: string; patch: Record<string, unknown>; sqlType: string };
  narrowed: { field: string; patch: Record<string, unknown> };
  row: Record<string, unknown>;
  types: Record<string, string>;
}

const CASES: CrmCase[] = [
  {
    kind: 'salesforce',
    start: () => startSalesforceSandbox({ port: 0, host: '127.0.0.1', records: 20, seed: 3 }),
    account: (sb) => CRM_CASES[0]!.account(sb, 'sf'),
    objects: ['Contact', 'Account', 'Lead', 'Opportunity', 'Loyalty_Card__c'],
    contact: 'Contact',
    prefix: 'sfdc',
    custom: { object: 'Loyalty_Card__c', lookup: 'Contact__c' },
    multi: { field: 'Interests__c', newValue: { value: 'Gardening', label: 'Gardening' } },
    added: { name: 'Nickname__c', type: 'string', length: 30 },
    addedColumn: 'nickname__c',
    removed: 'Title',
    widened: { field: 'FirstName', patch: { length: 120 }, sqlType: 'varchar(120)' },
    narrowed: { field: 'LastName', patch: { length: 20 } },
    row: { crm_id: '003000000000001AAA', lastname: 'Lovelace', firstname: 'Ada', title: 'Countess' },
    types: {
      Email: 'varchar(80)',
      Score__c: 'numeric(5,1)',
      Lifetime_Value__c: 'numeric(16,2)',
      Birthdate: 'date',
      SystemModstamp: 'timestamp with time zone',
      HasOptedOutOfEmail: 'boolean',
      Visits__c: 'integer',
      Interests__c: 'text',
      MailingCity: 'varchar(40)',
    },
  },
  {
    kind: 'dynamics',
    start: () => startDynamicsSandbox({ port: 0, host: '127.0.0.1', records: 20, seed: 3 }),
    account: (sb) => CRM_CASES[1]!.account(sb, 'dyn'),
    objects: ['contact', 'account', 'lead', 'opportunity', 'lia_loyaltycard'],
    contact: 'contact',
    prefix: 'dyn',
    custom: { object: 'lia_loyaltycard', lookup: 'lia_contactid' },
    multi: { field: 'lia_interests', newValue: { value: '100000009', label: 'Gardening' } },
    added: { name: 'lia_nickname', type: 'String', maxLength: 30 },
    addedColumn: 'lia_nickname',
    removed: 'jobtitle',
    widened: { field: 'firstname', patch: { maxLength: 120 }, sqlType: 'varchar(120)' },
    narrowed: { field: 'lastname', patch: { maxLength: 20 } },
    row: {
      crm_id: '6f1a3c0e-0000-4000-8000-000000000001',
      lastname: 'Lovelace',
      firstname: 'Ada',
      jobtitle: 'Countess',
    },
    types: {
      emailaddress1: 'varchar(100)',
      lia_score: 'numeric(8,2)',
      creditlimit: 'numeric(17,2)',
      birthdate: 'date',
      modifiedon: 'timestamp with time zone',
      donotemail: 'boolean',
      lia_points: 'bigint',
      lia_interests: 'text',
      lia_lastpurchaseon: 'timestamp with time zone',
    },
  },
];

for (const crm of CASES) {
  for (const target of storeTargets()) {
    describe(`wizard and enumerations: ${crm.kind} sandbox, ${target.name} store`, () => {
      let sandbox: SandboxHandle;
      let store: Store;
      let ctx: WizardContext;
      const account = () => crm.account(sandbox).name;
      beforeAll(async () => {
        sandbox = await crm.start();
      });
      afterAll(async () => {
        await sandbox?.stop();
        await target.cleanup();
      });
      beforeEach(async () => {
        store = await openStore(target.freshUrl());
        ctx = { store, accounts: new AccountsService(store, fixedKey) };
        await ctx.accounts.add(crm.account(sandbox));
      });
      afterEach(() => store.close());

      it('creates typed tables for the common objects and the custom object, with links, keys and cursor', async () => {
        await runWizard(ctx, { account: account(), objects: crm.objects.map((o) => o.toUpperCase()) });
        const schemas = await listSchemas(store);
        expect(schemas).toHaveLength(5);
        const contact = schemas.find((s) => s.crmObject === crm.contact)!;
        expect(contact.table).toBe(`crm_${crm.prefix}_contact`);
        expect(contact.name).toBe(`crm:${crm.prefix}Contact`);
        // Dataverse names a table's collection apart (its entity set); reads use it before describing again.
        if (crm.kind === 'dynamics') expect(contact.crmCollection).toBe('contacts');
        else expect(contact).not.toHaveProperty('crmCollection');
        for (const [fieldName, sqlType] of Object.entries(crm.types)) {
          expect({ fieldName, sqlType: contact.columns.find((c) => c.crmField === fieldName)?.sqlType }).toEqual({
            fieldName,
            sqlType,
          });
        }
        expect(contact.columns.find((c) => c.crmField === crm.multi.field)).toMatchObject({
          multiSelect: true,
          type: 'multipicklist',
        });
        expect(contact.cursorColumn).toBe(crm.kind === 'salesforce' ? 'systemmodstamp' : 'modifiedon');
        const custom = schemas.find((s) => s.crmObject === crm.custom.object)!;
        expect(custom.columns.find((c) => c.crmField === crm.custom.lookup)?.link).toEqual({
          schema: contact.name,
          table: contact.table,
        });
        if (crm.kind === 'dynamics') {
          expect(contact.columns.find((c) => c.crmField === 'parentcustomerid')).toMatchObject({
            targetColumn: 'parentcustomerid_target',
            referenceTo: ['account', 'contact'],
          });
          // Two fields sharing the global option set lia_loyaltytier share one enumeration.
          expect(contact.columns.find((c) => c.crmField === 'lia_loyaltytier')?.enumeration).toBe('lia_loyaltytier');
          expect(custom.columns.find((c) => c.crmField === 'lia_tier')?.enumeration).toBe('lia_loyaltytier');
        } else {
          expect(contact.columns.find((c) => c.crmField === 'MailingCity')?.compound).toBe('MailingAddress');
          expect(contact.columns.find((c) => c.crmField === 'MailingAddress')).toBeUndefined();
        }
        const columns = (await store.db.introspection.getTables())
          .find((t) => t.name === contact.table && (!store.schema || t.schema === store.schema))!
          .columns.map((c) => c.name);
        expect(columns).toEqual(
          expect.arrayContaining(['id', 'crm_id', contact.cursorColumn, ...contact.columns.map((c) => c.column)]),
        );
        // Nothing changed in the CRM: a second run plans nothing.
        const again = await planWizard(ctx, { account: account() });
        expect(again.plans.map((p) => p.changes.length)).toEqual([0, 0, 0, 0, 0]);
        expect(hasDrift(again)).toBe(false);
        if (crm.kind === 'dynamics') {
          // A schema recorded before entity sets were kept learns its own on the next run, with nothing migrated.
          const { crmCollection: _kept, ...older } = contact;
          await saveSchema(store.db, older);
          expect((await getSchema(store, contact.name))?.crmCollection).toBeUndefined();
          await applyWizard(ctx, await planWizard(ctx, { account: account() }));
          expect((await getSchema(store, contact.name))?.crmCollection).toBe('contacts');
        }
      });

      it('detects drift (added, removed, widened field), migrates without losing data, refuses narrowing', async () => {
        await runWizard(ctx, { account: account(), objects: [crm.contact] });
        const table = `crm_${crm.prefix}_contact`;
        const t = store.db.withTables<Record<string, Record<string, unknown>>>();
        await t.insertInto(table).values(crm.row).execute();

        sandbox.admin.addField(crm.contact, crm.added);
        sandbox.admin.removeField(crm.contact, crm.removed);
        sandbox.admin.changeField(crm.contact, crm.widened.field, crm.widened.patch);
        const plan = await planWizard(ctx, { account: account(), objects: [crm.contact] });
        const changes = plan.plans[0]!.changes.map((c) => `${c.kind}:${'column' in c ? c.column.crmField : ''}`).sort();
        expect(changes).toEqual(
          [`add-column:${crm.added.name}`, `orphan-column:${crm.removed}`, `widen-column:${crm.widened.field}`].sort(),
        );
        await applyWizard(ctx, plan);

        const row = await t.selectFrom(table).selectAll().executeTakeFirstOrThrow();
        expect(row).toMatchObject({ ...crm.row, [crm.addedColumn]: null });
        const schema = await getSchema(store, `crm:${crm.prefix}Contact`);
        expect(schema.columns.find((c) => c.crmField === crm.widened.field)?.sqlType).toBe(crm.widened.sqlType);
        expect(schema.columns.find((c) => c.crmField === crm.removed)?.orphan).toBe(true);
        const long = 'A'.repeat(100);
        await t.updateTable(table).set({ firstname: long }).execute();
        expect((await t.selectFrom(table).select('firstname').executeTakeFirstOrThrow()).firstname).toBe(long);

        sandbox.admin.changeField(crm.contact, crm.narrowed.field, crm.narrowed.patch);
        const narrowing = await planWizard(ctx, { account: account() });
        expect(narrowing.plans.flatMap(refusals).map((r) => r.column.crmField)).toEqual([crm.narrowed.field]);
        await expect(applyWizard(ctx, narrowing)).rejects.toMatchObject({ code: 'schema_conflict' });
        expect(await getSchema(store, schema.name)).toEqual(schema);

        await dropOrphans(store, schema.name);
        expect(
          (await t.selectFrom(table).selectAll().executeTakeFirstOrThrow())[crm.removed.toLowerCase()],
        ).toBeUndefined();
        expect((await t.selectFrom(table).select('lastname').executeTakeFirstOrThrow()).lastname).toBe('Lovelace');
      });

      it('syncs enumerations (merge then replace) including a multi-select picklist, and round-trips multi-select records', async () => {
        await runWizard(ctx, { account: account(), objects: [crm.contact] });
        const items = await syncEnumerations(ctx, { account: account(), all: true });
        const multiName = `${crm.contact.toLowerCase()}_${crm.multi.field.toLowerCase()}`;
        expect(items.find((i) => i.enumeration === multiName)).toMatchObject({ multi: true, created: true });
        const before = await getEnumeration(store.db, multiName);
        expect(before.values.length).toBeGreaterThan(3);

        // A local value, then a new CRM value: merge keeps the local one and adds the CRM one.
        const { saveEnumeration } = await import('../../src/enumerations/enum-store.js');
        await store.db.transaction().execute((trx) =>
          saveEnumeration(trx, {
            ...before,
            values: [...before.values, { value: 'local-only', label: 'Local', enabled: true, source: 'local' }],
          }),
        );
        sandbox.admin.addPicklistValue(crm.contact, crm.multi.field, crm.multi.newValue);
        const merged = await syncEnumerations(ctx, {
          account: account(),
          maps: [`${crm.contact}.${crm.multi.field}=${multiName}`],
        });
        expect(merged[0]).toMatchObject({ added: [crm.multi.newValue.value], removed: [] });
        const afterMerge = await getEnumeration(store.db, multiName);
        expect(afterMerge.values.map((v) => v.value)).toEqual([
          ...before.values.map((v) => v.value),
          'local-only',
          crm.multi.newValue.value,
        ]);
        expect(afterMerge.values.find((v) => v.value === crm.multi.newValue.value)).toMatchObject({
          label: 'Gardening',
          enabled: true,
          source: 'crm',
        });

        const replaced = await syncEnumerations(ctx, {
          account: account(),
          maps: [`${crm.contact}.${crm.multi.field}=${multiName}`],
          replace: true,
        });
        expect(replaced[0]?.removed).toEqual(['local-only']);
        expect((await getEnumeration(store.db, multiName)).values.map((v) => v.value)).toEqual([
          ...before.values.map((v) => v.value),
          crm.multi.newValue.value,
        ]);

        // Records: CRM string[] → stored JSON text → queried in SQL → back to string[] and the CRM's wire format.
        const settings = await ctx.accounts.connectionSettings(account());
        const driver = driverModule(settings.kind).createDriver(settings);
        const table = `crm_${crm.prefix}_contact`;
        const column = crm.multi.field.toLowerCase();
        const t = store.db.withTables<Record<string, Record<string, unknown>>>();
        const seen: string[][] = [];
        try {
          for await (const page of driver.query({ object: crm.contact, fields: [crm.multi.field], pageSize: 10 })) {
            for (const record of page.records) {
              const values = record.values[crm.multi.field];
              if (!Array.isArray(values) || values.length === 0) continue;
              seen.push(values.map(String));
              await t
                .insertInto(table)
                .values({ crm_id: record.id, [column]: toStoredMultiSelect(values.map(String)) })
                .execute();
            }
          }
        } finally {
          await driver.close();
        }
        expect(seen.length).toBeGreaterThan(0);
        const first = seen[0]!;
        const matching = await t
          .selectFrom(table)
          .select(['crm_id', column])
          .where(multiSelectContains(store.dialect, column, first[0]!))
          .execute();
        expect(matching.length).toBe(seen.filter((s) => s.includes(first[0]!)).length);
        for (const row of matching) {
          const values = fromStoredMultiSelect(row[column]);
          expect(values).toContain(first[0]);
          expect(toCrmMultiSelect(crm.kind, values).split(crm.kind === 'salesforce' ? ';' : ',')).toEqual(values);
        }
      });
    });
  }
}
