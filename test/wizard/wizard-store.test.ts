import { sql } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tableNames } from '../../src/store/store-open.js';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import { dropOrphans } from '../../src/wizard/schema-maintenance.js';
import { getSchema, listSchemas } from '../../src/wizard/schema-registry.js';
import {
  applyWizard,
  hasDrift,
  planWizard,
  runWizard,
  type WizardContext,
  type WizardProgress,
} from '../../src/wizard/wizard-service.js';
import { FakeCrm, field, fakeWizardContext } from '../support/fake-crm-driver.js';
import { storeTargets } from '../support/store-targets.js';

async function columnsOf(store: Store, table: string): Promise<Map<string, string>> {
  const tables = await store.db.introspection.getTables();
  // PostgreSQL's introspector lists every schema; other suites' tables share names with ours.
  const found = tables.find((t) => t.name === table && (store.schema === undefined || t.schema === store.schema));
  return new Map((found?.columns ?? []).map((c) => [c.name, c.dataType.toLowerCase()]));
}

for (const target of storeTargets()) {
  describe(`wizard with a fake CRM on ${target.name}`, () => {
    let store: Store;
    let crm: FakeCrm;
    let ctx: WizardContext;
    beforeEach(async () => {
      store = await openStore(target.freshUrl());
      ({ ctx, crm } = await fakeWizardContext(store));
    });
    afterEach(() => store.close());
    afterAll(() => target.cleanup());

    it('creates typed tables, links and registry entries; object names match case-insensitively; progress per object', async () => {
      const events: WizardProgress[] = [];
      await runWizard(ctx, { account: 'sf', objects: ['contact', 'ACCOUNT'], onProgress: (e) => events.push(e) });
      expect(events.filter((e) => e.object === 'Contact').map((e) => e.step)).toEqual([
        'discovering',
        'generating',
        'creating',
      ]);
      const schemas = await listSchemas(store);
      expect(schemas.map((s) => s.name)).toEqual(['crm:sfdcAccount', 'crm:sfdcContact']);
      const contact = await getSchema(store, 'crm:sfdcContact');
      expect(contact).toMatchObject({
        account: 'sf',
        crm: 'salesforce',
        crmObject: 'Contact',
        table: 'crm_sfdc_contact',
        idColumn: 'id',
        crmIdColumn: 'crm_id',
        cursorColumn: 'systemmodstamp',
      });
      expect(contact.columns.find((c) => c.crmField === 'AccountId')?.link).toEqual({
        schema: 'crm:sfdcAccount',
        table: 'crm_sfdc_account',
      });
      expect(contact.skipped.map((s) => s.field)).toEqual(['Secret__c']);
      const columns = await columnsOf(store, 'crm_sfdc_contact');
      expect([...columns.keys()]).toEqual(
        expect.arrayContaining([
          'id',
          'crm_id',
          'systemmodstamp',
          'email',
          'whoid',
          'whoid_target',
          'interests__c',
          'mailingstreet',
          'score__c',
        ]),
      );
      expect(columns.has('mailingaddress')).toBe(false);
      if (target.name === 'postgres') {
        expect(columns.get('email')).toBe('varchar');
        expect(columns.get('score__c')).toBe('numeric');
        expect(columns.get('systemmodstamp')).toBe('timestamptz');
        expect(columns.get('birthdate')).toBe('date');
        expect(columns.get('hasoptedoutofemail')).toBe('bool');
      } else {
        expect(columns.get('email')).toBe('varchar(80)');
        expect(columns.get('score__c')).toBe('numeric(5,1)');
      }
      // The CRM id is a unique key.
      const t = store.db.withTables<{ crm_sfdc_contact: { crm_id: string; lastname: string } }>();
      await t.insertInto('crm_sfdc_contact').values({ crm_id: '003A', lastname: 'Lovelace' }).execute();
      await expect(
        t.insertInto('crm_sfdc_contact').values({ crm_id: '003A', lastname: 'Again' }).execute(),
      ).rejects.toThrow();
    });

    it('migrates drift without losing data, keeps orphans until dropped, and refuses narrowing with nothing changed', async () => {
      await runWizard(ctx, { account: 'sf', objects: ['Contact'] });
      const t = store.db.withTables<{ crm_sfdc_contact: Record<string, unknown> }>();
      await t
        .insertInto('crm_sfdc_contact')
        .values({ crm_id: '003A', lastname: 'Lovelace', email: 'ada@example.com', birthdate: '1815-12-10' })
        .execute();

      crm.addField('Contact', field('Nickname__c', 'string', { length: 30 }));
      crm.removeField('Contact', 'Birthdate');
      crm.changeField('Contact', 'Email', { length: 200 });
      const plan = await planWizard(ctx, { account: 'sf', objects: ['Contact'] });
      expect(hasDrift(plan)).toBe(true);
      expect(plan.plans[0]!.changes.map((c) => c.kind).sort()).toEqual(['add-column', 'orphan-column', 'widen-column']);
      await applyWizard(ctx, plan);

      const row = await t.selectFrom('crm_sfdc_contact').selectAll().executeTakeFirstOrThrow();
      expect(row).toMatchObject({ crm_id: '003A', lastname: 'Lovelace', email: 'ada@example.com', nickname__c: null });
      expect(String(row.birthdate)).toContain('1815');
      const long = 'x'.repeat(150) + '@example.com';
      await t.updateTable('crm_sfdc_contact').set({ email: long }).execute();
      expect((await t.selectFrom('crm_sfdc_contact').select('email').executeTakeFirstOrThrow()).email).toBe(long);
      const schema = await getSchema(store, 'crm:sfdcContact');
      expect(schema.columns.find((c) => c.column === 'birthdate')).toMatchObject({ orphan: true });

      // A second run finds nothing more to do.
      expect(hasDrift(await planWizard(ctx, { account: 'sf', objects: ['Contact'] }))).toBe(false);

      crm.changeField('Contact', 'LastName', { length: 10 });
      const narrowing = await planWizard(ctx, { account: 'sf' });
      const before = await getSchema(store, 'crm:sfdcContact');
      await expect(applyWizard(ctx, narrowing)).rejects.toMatchObject({
        code: 'schema_conflict',
        message: expect.stringMatching(/^nothing changed: LastName: shorter length \(varchar\(80\) → varchar\(10\)\)/),
      });
      expect(await getSchema(store, 'crm:sfdcContact')).toEqual(before);
      crm.changeField('Contact', 'LastName', { length: 80 });

      const dropped = await dropOrphans(store, 'crm:sfdcContact');
      expect(dropped.map((c) => c.column)).toEqual(['birthdate']);
      expect((await columnsOf(store, 'crm_sfdc_contact')).has('birthdate')).toBe(false);
      expect((await t.selectFrom('crm_sfdc_contact').select('lastname').executeTakeFirstOrThrow()).lastname).toBe(
        'Lovelace',
      );
    });

    it('links an existing schema to an object chosen in a later run, without asking for drift confirmation', async () => {
      await runWizard(ctx, { account: 'sf', objects: ['Contact'] });
      expect(
        (await getSchema(store, 'crm:sfdcContact')).columns.find((c) => c.crmField === 'AccountId')?.link,
      ).toBeUndefined();
      const plan = await planWizard(ctx, { account: 'sf', objects: ['Account'] });
      expect(hasDrift(plan)).toBe(false);
      await applyWizard(ctx, plan);
      expect((await getSchema(store, 'crm:sfdcContact')).columns.find((c) => c.crmField === 'AccountId')?.link).toEqual(
        { schema: 'crm:sfdcAccount', table: 'crm_sfdc_account' },
      );
      expect(crm.describeCalls).toBe(2);
    });

    it('reports an object gone from the CRM and keeps its table', async () => {
      await runWizard(ctx, { account: 'sf', objects: ['Contact', 'Account'] });
      crm.objects.delete('account');
      const plan = await planWizard(ctx, { account: 'sf' });
      expect(plan.gone.map((s) => s.name)).toEqual(['crm:sfdcAccount']);
      expect(hasDrift(plan)).toBe(true);
      await applyWizard(ctx, plan);
      expect(await tableNames(store)).toContain('crm_sfdc_account');
    });

    it('rejects bad input with nothing changed', async () => {
      const snapshot = async () => ({ tables: (await tableNames(store)).sort(), schemas: await listSchemas(store) });
      const before = await snapshot();
      await expect(runWizard(ctx, { account: 'nope', objects: ['Contact'] })).rejects.toMatchObject({
        code: 'account_not_found',
      });
      await expect(runWizard(ctx, { account: 'sf', objects: ['Contact', 'Widget__c'] })).rejects.toMatchObject({
        code: 'object_not_found',
        message: expect.stringContaining('Widget__c'),
      });
      await expect(
        runWizard(ctx, { account: 'sf', objects: ['Contact'], fields: ['Contact.Nope'] }),
      ).rejects.toMatchObject({ code: 'field_not_found' });
      await expect(
        runWizard(ctx, { account: 'sf', objects: ['Contact'], fields: ['Lead.Email'] }),
      ).rejects.toMatchObject({ code: 'invalid_input' });
      crm.object('Contact').queryable = false;
      await expect(runWizard(ctx, { account: 'sf', objects: ['Contact'] })).rejects.toMatchObject({
        code: 'object_not_found',
        message: expect.stringContaining('cannot be read'),
      });
      crm.object('Contact').queryable = true;
      await sql`create table crm_sfdc_contact (x integer)`.execute(store.db);
      await expect(runWizard(ctx, { account: 'sf', objects: ['Account', 'Contact'] })).rejects.toMatchObject({
        code: 'schema_conflict',
        message: expect.stringContaining('does not own'),
      });
      expect(await snapshot()).toEqual({ ...before, tables: [...before.tables, 'crm_sfdc_contact'].sort() });
    });

    it('narrows columns with --fields and keeps the selection on later runs', async () => {
      await runWizard(ctx, { account: 'sf', objects: ['Contact'], fields: ['Contact.Email', 'contact.lastname'] });
      const schema = await getSchema(store, 'crm:sfdcContact');
      expect(schema.columns.map((c) => c.column)).toEqual(['crm_id', 'systemmodstamp', 'lastname', 'email']);
      crm.addField('Contact', field('Nickname__c', 'string', { length: 30 }));
      expect(hasDrift(await planWizard(ctx, { account: 'sf' }))).toBe(false);
    });

    it('disambiguates schema names when a second account of the same CRM kind exists', async () => {
      await runWizard(ctx, { account: 'sf', objects: ['Contact'] });
      await ctx.accounts.add({
        name: 'sf-eu',
        crm: 'salesforce',
        url: 'https://fake-eu.example.test',
        auth: 'client-credentials',
        clientId: 'c',
        secrets: { clientSecret: 's' },
      });
      await runWizard(ctx, { account: 'sf-eu', objects: ['Contact'] });
      // The first account keeps its plain names for objects it adds later.
      await runWizard(ctx, { account: 'sf', objects: ['Account'] });
      expect((await listSchemas(store)).map((s) => [s.name, s.table, s.account])).toEqual([
        ['crm:sfdcAccount', 'crm_sfdc_account', 'sf'],
        ['crm:sfdcContact', 'crm_sfdc_contact', 'sf'],
        ['crm:sfdc_sf_eu_Contact', 'crm_sfdc_sf_eu_contact', 'sf-eu'],
      ]);
    });
  });
}
