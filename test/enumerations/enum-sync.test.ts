import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { findEnumeration, getEnumeration, listEnumerations } from '../../src/enumerations/enum-store.js';
import { listPicklists, syncEnumerations } from '../../src/enumerations/enum-sync.js';
import {
  fromStoredMultiSelect,
  multiSelectContains,
  toStoredMultiSelect,
} from '../../src/enumerations/multi-select.js';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import { getSchema, listSchemas } from '../../src/wizard/schema-registry.js';
import { runWizard, type WizardContext } from '../../src/wizard/wizard-service.js';
import { FakeCrm, field, object, picklist, fakeWizardContext } from '../support/fake-crm-driver.js';
import { storeTargets } from '../support/store-targets.js';

for (const target of storeTargets()) {
  describe(`enumeration sync with a fake CRM on ${target.name}`, () => {
    let store: Store;
    let crm: FakeCrm;
    let ctx: WizardContext;
    beforeEach(async () => {
      store = await openStore(target.freshUrl());
      ({ ctx, crm } = await fakeWizardContext(store));
      await runWizard(ctx, { account: 'sf', objects: ['Contact'] });
    });
    afterEach(() => store.close());
    afterAll(() => target.cleanup());

    it('lists the picklists of the account schemas with their current enumeration', async () => {
      expect((await listPicklists(ctx, 'sf')).map((p) => [p.crmObject, p.field, p.multi, p.enumeration])).toEqual([
        ['Contact', 'LeadSource', false, 'contact_leadsource'],
        ['Contact', 'Interests__c', true, 'contact_interests__c'],
        ['Contact', 'Sub_Source__c', false, 'contact_sub_source__c'],
      ]);
    });

    it('--all creates one enumeration per picklist, with disabled inactive values and dependent validFor', async () => {
      const items = await syncEnumerations(ctx, { account: 'sf', all: true });
      expect(items.map((i) => [i.enumeration, i.multi, i.created])).toEqual([
        ['contact_leadsource', false, true],
        ['contact_interests__c', true, true],
        ['contact_sub_source__c', false, true],
      ]);
      const leadSource = await getEnumeration(store.db, 'contact_leadsource');
      expect(leadSource.values).toEqual([
        { value: 'Web', label: 'Web', enabled: true, source: 'crm' },
        { value: 'Phone Inquiry', label: 'Phone Inquiry', enabled: true, source: 'crm' },
        { value: 'Old', label: 'Old', enabled: false, source: 'crm' },
      ]);
      expect(leadSource.source).toBe('sf:Contact.LeadSource');
      expect(await getEnumeration(store.db, 'contact_sub_source__c')).toMatchObject({
        controller: 'LeadSource',
        values: [{ value: 'Form', validFor: ['Web'] }],
      });
      expect((await getEnumeration(store.db, 'contact_interests__c')).multi).toBe(true);
    });

    it('merges new CRM values and keeps local ones; --replace makes it exactly the CRM values', async () => {
      await syncEnumerations(ctx, { account: 'sf', maps: ['contact.interests__c=interests'] });
      expect(
        (await getSchema(store, 'crm:sfdcContact')).columns.find((c) => c.crmField === 'Interests__c')?.enumeration,
      ).toBe('interests');
      // A local addition, then CRM changes: a new value, a relabelled one.
      const enumeration = await getEnumeration(store.db, 'interests');
      const { saveEnumeration } = await import('../../src/enumerations/enum-store.js');
      await store.db.transaction().execute((trx) =>
        saveEnumeration(trx, {
          ...enumeration,
          values: [...enumeration.values, { value: 'Chess', label: 'Chess', enabled: true, source: 'local' }],
        }),
      );
      const interests = crm.field('Contact', 'Interests__c').picklist!;
      interests.values.push({ value: 'Travel', label: 'Travel', active: true, isDefault: false });
      interests.values[0]!.label = 'Cycling & biking';

      const merged = await syncEnumerations(ctx, { account: 'sf', maps: ['Contact.Interests__c=interests'] });
      expect(merged[0]).toMatchObject({ added: ['Travel'], updated: ['Cycling'], removed: [], created: false });
      expect(
        (await getEnumeration(store.db, 'interests')).values.map((v) => `${v.value}|${v.label}|${v.source}`),
      ).toEqual([
        'Cycling|Cycling & biking|crm',
        'Hiking|Hiking|crm',
        'Music|Music|crm',
        'Chess|Chess|local',
        'Travel|Travel|crm',
      ]);

      const dry = await syncEnumerations(ctx, {
        account: 'sf',
        maps: ['Contact.Interests__c=interests'],
        replace: true,
        dryRun: true,
      });
      expect(dry[0]?.removed).toEqual(['Chess']);
      expect((await getEnumeration(store.db, 'interests')).values).toHaveLength(5);

      await syncEnumerations(ctx, { account: 'sf', maps: ['Contact.Interests__c=interests'], replace: true });
      expect((await getEnumeration(store.db, 'interests')).values.map((v) => v.value)).toEqual([
        'Cycling',
        'Hiking',
        'Music',
        'Travel',
      ]);
    });

    it('stores multi-select values as JSON text that both stores can query', async () => {
      const t = store.db.withTables<{ crm_sfdc_contact: { crm_id: string; interests__c: string | null } }>();
      await t
        .insertInto('crm_sfdc_contact')
        .values([
          { crm_id: 'a', interests__c: toStoredMultiSelect(['Cycling', 'Hiking']) },
          { crm_id: 'b', interests__c: toStoredMultiSelect(['Music']) },
          { crm_id: 'c', interests__c: toStoredMultiSelect([]) },
          { crm_id: 'd', interests__c: null },
        ])
        .execute();
      const hiking = await t
        .selectFrom('crm_sfdc_contact')
        .select('crm_id')
        .where(multiSelectContains(store.dialect, 'interests__c', 'Hiking'))
        .execute();
      expect(hiking.map((r) => r.crm_id)).toEqual(['a']);
      const injection = await t
        .selectFrom('crm_sfdc_contact')
        .select('crm_id')
        .where(multiSelectContains(store.dialect, 'interests__c', "x' or '1'='1"))
        .execute();
      expect(injection).toEqual([]);
      const row = await t
        .selectFrom('crm_sfdc_contact')
        .select('interests__c')
        .where('crm_id', '=', 'a')
        .executeTakeFirstOrThrow();
      expect(fromStoredMultiSelect(row.interests__c)).toEqual(['Cycling', 'Hiking']);
    });

    it('rejects bad input and type conflicts with nothing changed', async () => {
      await syncEnumerations(ctx, { account: 'sf', maps: ['Contact.LeadSource=sources'] });
      const before = { enums: await listEnumerations(store.db), schemas: await listSchemas(store) };
      await expect(syncEnumerations(ctx, { account: 'nope', all: true })).rejects.toMatchObject({
        code: 'account_not_found',
      });
      await expect(syncEnumerations(ctx, { account: 'sf' })).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringContaining('--all'),
      });
      await expect(syncEnumerations(ctx, { account: 'sf', maps: ['Lead.Status=x'] })).rejects.toMatchObject({
        code: 'object_not_found',
      });
      await expect(syncEnumerations(ctx, { account: 'sf', maps: ['Contact.Nope=x'] })).rejects.toMatchObject({
        code: 'field_not_found',
      });
      await expect(syncEnumerations(ctx, { account: 'sf', maps: ['Contact.Email=x'] })).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringContaining('not a picklist'),
      });
      await expect(syncEnumerations(ctx, { account: 'sf', maps: ['Contact.LeadSource'] })).rejects.toMatchObject({
        code: 'invalid_input',
      });
      // A multi-select mapped onto a single-value enumeration, after a valid pairing in the same run: all or nothing.
      await expect(
        syncEnumerations(ctx, { account: 'sf', maps: ['Contact.LeadSource=sources', 'Contact.Interests__c=sources'] }),
      ).rejects.toMatchObject({ code: 'enum_conflict', message: expect.stringContaining('nothing changed') });
      crm
        .field('Contact', 'LeadSource')
        .picklist!.values.push({ value: 'New', label: 'New', active: true, isDefault: false });
      await expect(
        syncEnumerations(ctx, { account: 'sf', maps: ['Contact.LeadSource=sources', 'Contact.Interests__c=sources'] }),
      ).rejects.toMatchObject({ code: 'enum_conflict' });
      expect({ enums: await listEnumerations(store.db), schemas: await listSchemas(store) }).toEqual(before);
      expect(await findEnumeration(store.db, 'x')).toBeUndefined();
    });

    it('refuses to pair a Dataverse option set with an enumeration of Salesforce text values', async () => {
      const dynamics = new FakeCrm('dynamics').add(
        object(
          'contact',
          [
            field('contactid', 'id'),
            field('modifiedon', 'datetime'),
            field('leadsourcecode', 'picklist', { crmType: 'Picklist', picklist: picklist([['1', 'Web']]) }),
          ],
          { idField: 'contactid', modstampField: 'modifiedon' },
        ),
      );
      await ctx.accounts.add({
        name: 'dyn',
        crm: 'dynamics',
        url: 'https://org.example.test',
        auth: 'client-secret',
        clientId: 'c',
        tenant: 't',
        secrets: { clientSecret: 's' },
      });
      ctx.createDriver = (settings) => (settings.kind === 'dynamics' ? dynamics : crm).driver();
      await runWizard(ctx, { account: 'dyn', objects: ['contact'] });
      await syncEnumerations(ctx, { account: 'sf', maps: ['Contact.LeadSource=lead_source'] });
      await expect(
        syncEnumerations(ctx, { account: 'dyn', maps: ['contact.leadsourcecode=lead_source'] }),
      ).rejects.toMatchObject({ code: 'enum_conflict', message: expect.stringContaining('option codes') });
      const dyn = await syncEnumerations(ctx, { account: 'dyn', all: true });
      expect(dyn.map((i) => i.enumeration)).toEqual(['contact_leadsourcecode']);
      expect(await getEnumeration(store.db, 'contact_leadsourcecode')).toMatchObject({
        valueType: 'code',
        values: [{ value: '1', label: 'Web' }],
      });
      expect((await getEnumeration(store.db, 'lead_source')).valueType).toBe('text');
    });

    it('syncs a field added to the CRM only after the wizard records it', async () => {
      crm.addField('Contact', field('Tier__c', 'picklist', { picklist: picklist(['Gold']) }));
      await expect(syncEnumerations(ctx, { account: 'sf', maps: ['Contact.Tier__c=tier'] })).rejects.toMatchObject({
        code: 'field_not_found',
      });
      await runWizard(ctx, { account: 'sf' });
      expect((await syncEnumerations(ctx, { account: 'sf', maps: ['Contact.Tier__c=tier'] }))[0]).toMatchObject({
        added: ['Gold'],
      });
    });
  });
}
