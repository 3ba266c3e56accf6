import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import { getSchema } from '../../src/wizard/schema-registry.js';
import { recordToRow, rowToValues } from '../../src/wizard/schema-rows.js';
import { runWizard } from '../../src/wizard/wizard-service.js';
import { fakeWizardContext } from '../support/fake-crm-driver.js';
import { storeTargets } from '../support/store-targets.js';

for (const target of storeTargets()) {
  describe(`record ⇄ row mappers on ${target.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await openStore(target.freshUrl());
      const { ctx } = await fakeWizardContext(store);
      await runWizard(ctx, { account: 'sf', objects: ['Contact'] });
    });
    afterEach(() => store.close());
    afterAll(() => target.cleanup());

    it('round-trips every mapped type through the store, multi-select and lookup targets included', async () => {
      const schema = await getSchema(store, 'crm:sfdcContact');
      const values = {
        LastName: 'Lovelace',
        Email: 'ada@example.com',
        Birthdate: '1815-12-10',
        SystemModstamp: '2024-01-15T10:20:30.000Z',
        HasOptedOutOfEmail: true,
        Visits__c: 42,
        Score__c: 12.5,
        Ratio__c: 0.25,
        Interests__c: ['Cycling', 'Music'],
        WhoId: '00Q000000000001AAA',
        'WhoId@target': 'Lead',
        AccountId: null,
      };
      const row = recordToRow(schema, { id: '003000000000001AAA', values }, store.dialect);
      expect(row).toMatchObject({
        crm_id: '003000000000001AAA',
        interests__c: '["Cycling","Music"]',
        whoid_target: 'Lead',
        hasoptedoutofemail: store.dialect === 'sqlite' ? 1 : true,
      });
      expect(row).not.toHaveProperty('description');
      const t = store.db.withTables<Record<string, Record<string, unknown>>>();
      await t.insertInto(schema.table).values(row).execute();
      const stored = await t.selectFrom(schema.table).selectAll().executeTakeFirstOrThrow();
      const back = rowToValues(schema, stored);
      expect(back).toMatchObject(values);
      expect(back.Description).toBeNull();
    });
  });
}
