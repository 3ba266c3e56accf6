import { describe, expect, it } from 'vitest';
import type { FieldMetadata } from '../../src/crm/metadata.js';
import { planSchema, compareStorage, refusals } from '../../src/wizard/schema-drift.js';
import { mapObjectColumns, sqlTypeFor } from '../../src/wizard/schema-mapping.js';
import { defaultEnumerationName, schemaNames } from '../../src/wizard/schema-naming.js';
import type { LocalColumn, LocalSchema } from '../../src/wizard/schema-types.js';
import { field, salesforceFixture } from '../support/fake-crm-driver.js';

const enumerationFor = (f: FieldMetadata) => defaultEnumerationName('Contact', f.name);

describe('type mapping', () => {
  it('maps each neutral type to a faithful portable SQL type', () => {
    const t = (f: FieldMetadata) => sqlTypeFor(f)?.sqlType;
    expect(t(field('A', 'string', { length: 80 }))).toBe('varchar(80)');
    expect(t(field('A', 'string'))).toBe('varchar(255)');
    expect(t(field('A', 'email', { length: 20_000_000 }))).toBe('text');
    expect(t(field('A', 'text', { length: 32000 }))).toBe('text');
    expect(t(field('A', 'boolean'))).toBe('boolean');
    expect(t(field('A', 'integer', { precision: 9 }))).toBe('integer');
    expect(t(field('A', 'integer', { precision: 12 }))).toBe('bigint');
    expect(t(field('A', 'bigint'))).toBe('bigint');
    expect(t(field('A', 'decimal', { precision: 18, scale: 2 }))).toBe('numeric(18,2)');
    expect(t(field('A', 'decimal'))).toBe('numeric');
    expect(t(field('A', 'double', { precision: 10, scale: 0 }))).toBe('numeric(10,0)');
    expect(t(field('A', 'double'))).toBe('double precision');
    expect(t(field('A', 'date'))).toBe('date');
    expect(t(field('A', 'datetime'))).toBe('timestamp with time zone');
    expect(t(field('A', 'time'))).toBe('time');
    expect(t(field('A', 'multipicklist'))).toBe('text');
    expect(t(field('A', 'unsupported'))).toBeUndefined();
  });

  it('maps a Salesforce-like Contact: keys, cursor, links, enumerations, compounds, multi-target lookups, skipped types', () => {
    const meta = salesforceFixture().object('Contact');
    const links = new Map([['account', { schema: 'crm:sfdcAccount', table: 'crm_sfdc_account' }]]);
    const mapped = mapObjectColumns(meta, { links, enumerationFor });
    const col = (crmField: string) => mapped.columns.find((c) => c.crmField === crmField);
    expect(mapped.crmIdColumn).toBe('crm_id');
    expect(col('Id')).toMatchObject({ column: 'crm_id', sqlType: 'varchar(18)', nullable: false });
    expect(mapped.cursorColumn).toBe('systemmodstamp');
    expect(col('SystemModstamp')?.sqlType).toBe('timestamp with time zone');
    expect(col('AccountId')).toMatchObject({
      column: 'accountid',
      link: { schema: 'crm:sfdcAccount', table: 'crm_sfdc_account' },
    });
    expect(col('AccountId')?.targetColumn).toBeUndefined();
    expect(col('WhoId')).toMatchObject({
      column: 'whoid',
      targetColumn: 'whoid_target',
      referenceTo: ['Contact', 'Lead'],
    });
    expect(col('WhoId')?.link).toBeUndefined();
    expect(col('LeadSource')).toMatchObject({ enumeration: 'contact_leadsource', sqlType: 'varchar(255)' });
    expect(col('Interests__c')).toMatchObject({
      column: 'interests__c',
      multiSelect: true,
      enumeration: 'contact_interests__c',
      sqlType: 'text',
    });
    expect(col('Score__c')).toMatchObject({ sqlType: 'numeric(5,1)', precision: 5, scale: 1 });
    expect(col('MailingStreet')).toMatchObject({ compound: 'MailingAddress' });
    expect(col('MailingCity')).toMatchObject({ compound: 'MailingAddress', sqlType: 'varchar(40)' });
    expect(col('MailingAddress')).toBeUndefined();
    expect(mapped.skipped).toEqual([
      { field: 'Secret__c', crmType: 'encryptedblob', reason: expect.stringContaining('encryptedblob') },
    ]);
    expect(new Set(mapped.columns.map((c) => c.column)).size).toBe(mapped.columns.length);
  });

  it('narrows to --fields (case-insensitive), always keeping id and cursor, and rejects unknown fields', () => {
    const meta = salesforceFixture().object('Contact');
    const mapped = mapObjectColumns(meta, { fields: ['email', 'LASTNAME'], enumerationFor });
    expect(mapped.columns.map((c) => c.crmField)).toEqual(['Id', 'SystemModstamp', 'LastName', 'Email']);
    expect(() => mapObjectColumns(meta, { fields: ['Emial'], enumerationFor })).toThrow(/Contact has no field "Emial"/);
  });

  it('names schemas and tables by CRM kind, disambiguating a second account of the same kind', () => {
    expect(schemaNames('salesforce', 'Contact')).toEqual({ schema: 'crm:sfdcContact', table: 'crm_sfdc_contact' });
    expect(schemaNames('dynamics', 'contact')).toEqual({ schema: 'crm:dynContact', table: 'crm_dyn_contact' });
    expect(schemaNames('salesforce', 'Loyalty_Card__c')).toEqual({
      schema: 'crm:sfdcLoyalty_Card__c',
      table: 'crm_sfdc_loyalty_card__c',
    });
    expect(schemaNames('salesforce', 'Contact', 'sf-eu')).toEqual({
      schema: 'crm:sfdc_sf_eu_Contact',
      table: 'crm_sfdc_sf_eu_contact',
    });
  });

  it('gives unsafe or reserved CRM names safe, unique column names', () => {
    const meta = salesforceFixture().object('Account');
    meta.fields.push(field('id', 'string'), field('Crm Id"; drop table x; --', 'string'), field('1st', 'string'));
    const columns = mapObjectColumns(meta, { enumerationFor }).columns.map((c) => c.column);
    for (const name of columns) expect(name).toMatch(/^[a-z_][a-z0-9_]{0,62}$/);
    expect(new Set(columns).size).toBe(columns.length);
    expect(columns).toContain('f_1st');
  });
});

describe('drift planning', () => {
  const base = (): LocalSchema => {
    const mapped = mapObjectColumns(salesforceFixture().object('Contact'), { enumerationFor });
    return {
      name: 'crm:sfdcContact',
      account: 'sf',
      crm: 'salesforce',
      crmObject: 'Contact',
      table: 'crm_sfdc_contact',
      idColumn: 'id',
      crmIdColumn: 'crm_id',
      cursorColumn: 'systemmodstamp',
      columns: mapped.columns,
      skipped: mapped.skipped,
      createdAt: 't0',
      updatedAt: 't0',
    };
  };
  const fresh = (mutate: (crm: ReturnType<typeof salesforceFixture>) => void): LocalSchema => {
    const crm = salesforceFixture();
    mutate(crm);
    const existing = base();
    const mapped = mapObjectColumns(crm.object('Contact'), { enumerationFor, existing });
    return { ...existing, columns: mapped.columns, skipped: mapped.skipped, updatedAt: 't1' };
  };

  it('plans nothing when the CRM did not change', () => {
    expect(
      planSchema(
        base(),
        fresh(() => undefined),
      ).changes,
    ).toEqual([]);
  });

  it('plans added, orphaned, widened and retyped columns, keeping column names', () => {
    const plan = planSchema(
      base(),
      fresh((crm) => {
        crm.addField('Contact', field('Nickname__c', 'string', { length: 30 }));
        crm.removeField('Contact', 'Birthdate');
        crm.changeField('Contact', 'Email', { length: 120 });
        crm.changeField('Contact', 'Score__c', { precision: 8, scale: 2 });
        crm.changeField('Contact', 'Visits__c', { precision: 12 });
      }),
    );
    const kinds = plan.changes.map((c) => `${c.kind}:${'column' in c ? c.column.column : ''}`);
    expect(kinds.sort()).toEqual(
      [
        'add-column:nickname__c',
        'orphan-column:birthdate',
        'widen-column:email',
        'widen-column:score__c',
        'widen-column:visits__c',
      ].sort(),
    );
    expect(plan.schema.columns.find((c) => c.column === 'birthdate')?.orphan).toBe(true);
    expect(plan.schema.columns.find((c) => c.column === 'email')?.sqlType).toBe('varchar(120)');
    expect(refusals(plan)).toEqual([]);
  });

  it('refuses narrowing and incompatible changes with an explanation', () => {
    const plan = planSchema(
      base(),
      fresh((crm) => {
        crm.changeField('Contact', 'Email', { length: 40 });
        crm.changeField('Contact', 'Score__c', { precision: 5, scale: 0 });
        crm.changeField('Contact', 'Birthdate', { type: 'boolean', crmType: 'boolean' });
        crm.changeField('Contact', 'LeadSource', { type: 'multipicklist' });
      }),
    );
    const reasons = refusals(plan).map((r) => `${r.column.column}: ${r.reason}`);
    expect(reasons).toHaveLength(4);
    expect(reasons.join('\n')).toMatch(/email: .*shorter length \(varchar\(80\) → varchar\(40\)\)/);
    expect(reasons.join('\n')).toMatch(/score__c: .*lower precision/);
    expect(reasons.join('\n')).toMatch(/birthdate: .*changed type/);
    expect(reasons.join('\n')).toMatch(/leadsource: .*multi-select/);
  });

  it('restores an orphan whose field comes back', () => {
    const removed = planSchema(
      base(),
      fresh((crm) => crm.removeField('Contact', 'Email')),
    ).schema;
    const crm = salesforceFixture();
    const mapped = mapObjectColumns(crm.object('Contact'), { enumerationFor, existing: removed });
    const plan = planSchema(removed, { ...removed, columns: mapped.columns });
    expect(plan.changes.map((c) => c.kind)).toEqual(['restore-column']);
    expect(plan.schema.columns.find((c) => c.column === 'email')?.orphan).toBeUndefined();
  });

  it('compares storage: widening allowed, narrowing refused', () => {
    const c = (sqlType: string, extra: Partial<LocalColumn> = {}): LocalColumn => ({
      column: 'x',
      crmField: 'X',
      type: 'string',
      sqlType,
      nullable: true,
      ...extra,
    });
    expect(compareStorage(c('varchar(10)'), c('varchar(20)'))).toBe('widen');
    expect(compareStorage(c('varchar(10)'), c('text'))).toBe('widen');
    expect(compareStorage(c('integer'), c('bigint'))).toBe('widen');
    expect(compareStorage(c('integer'), c('numeric(18,2)'))).toBe('widen');
    expect(compareStorage(c('numeric(18,2)'), c('numeric(18,4)'))).toHaveProperty('refuse');
    expect(compareStorage(c('date'), c('timestamp with time zone'))).toBe('widen');
    expect(compareStorage(c('timestamp with time zone'), c('date'))).toHaveProperty('refuse');
    expect(compareStorage(c('text'), c('varchar(100)'))).toHaveProperty('refuse');
    expect(compareStorage(c('bigint'), c('integer'))).toHaveProperty('refuse');
  });
});
