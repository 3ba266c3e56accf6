import { describe, expect, it } from 'vitest';
import { decodeValidFor, mapDescribe, mapFieldType, mapGlobal } from '../../src/crm/salesforce/salesforce-describe.js';
import {
  normaliseDateTime,
  normaliseValue,
  recordMapper,
  toCsvCell,
  toWireValue,
} from '../../src/crm/salesforce/salesforce-values.js';
import { parseBulkError } from '../../src/crm/salesforce/salesforce-bulk.js';
import { mapperFor, type QueryContext } from '../../src/crm/salesforce/salesforce-query.js';
import type { FieldMetadata } from '../../src/crm/metadata.js';

const describeAnswer = {
  name: 'Contact',
  label: 'Contact',
  labelPlural: 'Contacts',
  custom: false,
  queryable: true,
  createable: true,
  updateable: true,
  deletable: true,
  fields: [
    { name: 'Id', label: 'Contact ID', type: 'id', length: 18, nillable: false, createable: false, updateable: false },
    {
      name: 'LastName',
      label: 'Last Name',
      type: 'string',
      length: 80,
      nillable: false,
      createable: true,
      updateable: true,
      nameField: false,
    },
    { name: 'Name', label: 'Full Name', type: 'string', length: 121, nameField: true },
    { name: 'Description', label: 'Description', type: 'textarea', length: 32000, nillable: true },
    { name: 'Email', type: 'email', length: 80, nillable: true, createable: true, updateable: true },
    { name: 'NumberOfEmployees', type: 'int', digits: 8 },
    { name: 'Ratio__c', type: 'double', precision: 18, scale: 0 },
    { name: 'Weight__c', type: 'double', precision: 10, scale: 3 },
    { name: 'Amount__c', type: 'currency', precision: 16, scale: 2 },
    { name: 'Share__c', type: 'percent', precision: 5, scale: 2 },
    { name: 'Ext_Key__c', type: 'string', length: 40, externalId: true, unique: true },
    { name: 'AccountId', type: 'reference', referenceTo: ['Account'], relationshipName: 'Account' },
    { name: 'WhoId', type: 'reference', referenceTo: ['Contact', 'Lead'], relationshipName: 'Who' },
    { name: 'MailingStreet', type: 'textarea', compoundFieldName: 'MailingAddress' },
    { name: 'MailingAddress', type: 'address' },
    { name: 'Spot__c', type: 'location' },
    { name: 'Blob__c', type: 'base64' },
    { name: 'SystemModstamp', type: 'datetime' },
    {
      name: 'Tier__c',
      type: 'picklist',
      restrictedPicklist: true,
      picklistValues: [
        { value: 'Gold', label: 'Gold tier', active: true, defaultValue: true, validFor: null },
        { value: 'Old', label: 'Old', active: false, defaultValue: false, validFor: null },
      ],
    },
    {
      name: 'Rating__c',
      type: 'picklist',
      dependentPicklist: true,
      controllerName: 'Tier__c',
      picklistValues: [
        { value: 'Hot', label: 'Hot', active: true, defaultValue: false, validFor: 'gAAA' },
        { value: 'Any', label: 'Any', active: true, defaultValue: false, validFor: 'wAAA' },
      ],
    },
    {
      name: 'Opt__c',
      type: 'picklist',
      controllerName: 'HasOptedOut',
      picklistValues: [{ value: 'Y', label: 'Y', active: true, defaultValue: false, validFor: 'QA==' }],
    },
    { name: 'HasOptedOut', type: 'boolean' },
    {
      name: 'Topics__c',
      type: 'multipicklist',
      picklistValues: [{ value: 'A', label: 'A', active: true, defaultValue: false }],
    },
  ],
};

describe('describe → ObjectMetadata', () => {
  const meta = mapDescribe(describeAnswer);
  const f = (name: string): FieldMetadata => {
    const found = meta.fields.find((x) => x.name === name);
    if (!found) throw new Error(name);
    return found;
  };

  it('maps the object and its special fields', () => {
    expect(meta).toMatchObject({
      name: 'Contact',
      labelPlural: 'Contacts',
      idField: 'Id',
      nameField: 'Name',
      modstampField: 'SystemModstamp',
      queryable: true,
    });
    expect(f('SystemModstamp').isModstamp).toBe(true);
    expect(f('LastName').isModstamp).toBeUndefined();
  });

  it('maps types with precision and scale', () => {
    expect(f('Id')).toMatchObject({ type: 'id', crmType: 'id' });
    expect(f('Description')).toMatchObject({ type: 'text', length: 32000 });
    expect(f('Email').type).toBe('email');
    expect(f('NumberOfEmployees')).toMatchObject({ type: 'integer', precision: 8 });
    expect(f('Ratio__c').type).toBe('double');
    expect(f('Weight__c')).toMatchObject({ type: 'decimal', precision: 10, scale: 3 });
    expect(f('Amount__c')).toMatchObject({ type: 'decimal', crmType: 'currency', precision: 16, scale: 2 });
    expect(f('Share__c')).toMatchObject({ type: 'decimal', crmType: 'percent' });
    expect(f('MailingAddress').type).toBe('address');
    expect(f('Spot__c').type).toBe('location');
    expect(f('Blob__c')).toMatchObject({ type: 'unsupported', crmType: 'base64' });
    expect(mapFieldType('complexvalue')).toBe('unsupported');
  });

  it('maps keys, references and compound components', () => {
    expect(f('Ext_Key__c')).toMatchObject({ externalId: true, unique: true });
    expect(f('AccountId')).toMatchObject({ type: 'reference', referenceTo: ['Account'], relationshipName: 'Account' });
    expect(f('WhoId').referenceTo).toEqual(['Contact', 'Lead']);
    expect(f('MailingStreet').compoundFieldName).toBe('MailingAddress');
  });

  it('maps picklists: labels, active, default, restricted, dependent validFor', () => {
    expect(f('Tier__c').picklist).toEqual({
      restricted: true,
      values: [
        { value: 'Gold', label: 'Gold tier', active: true, isDefault: true },
        { value: 'Old', label: 'Old', active: false, isDefault: false },
      ],
    });
    const rating = f('Rating__c').picklist;
    expect(rating?.controllerName).toBe('Tier__c');
    expect(rating?.values.map((v) => v.validFor)).toEqual([['Gold'], ['Gold', 'Old']]);
    expect(f('Opt__c').picklist?.values[0]?.validFor).toEqual(['true']);
    expect(f('Topics__c').type).toBe('multipicklist');
  });

  it('decodes validFor bits most significant first', () => {
    expect(decodeValidFor('gAAA', ['a', 'b', 'c'])).toEqual(['a']);
    expect(decodeValidFor('QAAA', ['a', 'b', 'c'])).toEqual(['b']);
    expect(
      decodeValidFor(
        Buffer.from([0x00, 0x80]).toString('base64'),
        Array.from({ length: 10 }, (_, i) => `v${i}`),
      ),
    ).toEqual(['v8']);
  });

  it('maps describeGlobal with key prefixes', () => {
    const list = mapGlobal({
      sobjects: [
        { name: 'Account', label: 'Account', keyPrefix: '001', custom: false, queryable: true },
        { name: 'X__c', label: 'X', keyPrefix: null, custom: true },
      ],
    });
    expect(list).toEqual([
      {
        name: 'Account',
        label: 'Account',
        keyPrefix: '001',
        custom: false,
        queryable: true,
        createable: false,
        updateable: false,
        deletable: false,
      },
      {
        name: 'X__c',
        label: 'X',
        custom: true,
        queryable: false,
        createable: false,
        updateable: false,
        deletable: false,
      },
    ]);
  });
});

describe('wire values → neutral values', () => {
  const meta = mapDescribe(describeAnswer);
  const f = (name: string): FieldMetadata => meta.fields.find((x) => x.name === name) as FieldMetadata;

  it('normalises datetimes to ISO UTC with Z', () => {
    expect(normaliseDateTime('2024-01-15T10:20:30.000+0000')).toBe('2024-01-15T10:20:30.000Z');
    expect(normaliseDateTime('2024-01-15T10:20:30.000+0200')).toBe('2024-01-15T08:20:30.000Z');
    expect(normaliseValue('2024-01-15T10:20:30.000+0000', f('SystemModstamp'))).toBe('2024-01-15T10:20:30.000Z');
  });

  it('splits multi-select picklists and keeps the other types', () => {
    expect(normaliseValue('A;B', f('Topics__c'))).toEqual(['A', 'B']);
    expect(normaliseValue('', f('Topics__c'))).toEqual([]);
    expect(normaliseValue(null, f('Topics__c'))).toBeNull();
    expect(normaliseValue(undefined, f('Email'))).toBeNull();
    expect(normaliseValue(12.5, f('Amount__c'))).toBe(12.5);
    expect(normaliseValue({ street: 'x', attributes: { type: 'Address' } }, f('MailingAddress'))).toEqual({
      street: 'x',
    });
  });

  it('flattens parents, drops attributes and names polymorphic targets', () => {
    const columns = ['Id', 'Topics__c', 'WhoId', 'AccountId'].map((n) => ({ path: n, field: f(n) }));
    columns.push({ path: 'Account.Name', field: f('LastName') });
    const map = recordMapper(columns, new Map([['00Q', 'Lead']]));
    const record = map({
      attributes: { type: 'Contact', url: '/x' },
      Id: '003A',
      Topics__c: 'A;B',
      WhoId: '00QLz0000000001AAA',
      AccountId: '001X',
      Account: { attributes: { type: 'Account' }, Name: 'Acme' },
    });
    expect(record).toEqual({
      id: '003A',
      values: {
        Id: '003A',
        Topics__c: ['A', 'B'],
        WhoId: '00QLz0000000001AAA',
        'WhoId@target': 'Lead',
        AccountId: '001X',
        'Account.Name': 'Acme',
      },
    });
    expect(map({ Id: '003B', Account: null }).values['Account.Name']).toBeNull();
  });

  it('asks for the key prefixes (describeGlobal) only when a polymorphic reference is selected', async () => {
    let asked = 0;
    const ctx = {
      objectByKeyPrefix: async () => {
        asked++;
        return new Map([['00Q', 'Lead']]);
      },
    } as unknown as QueryContext;
    const plain = await mapperFor(
      ctx,
      ['Id', 'AccountId'].map((n) => ({ path: n, field: f(n) })),
    );
    expect(asked).toBe(0);
    expect(plain({ Id: '003A', AccountId: '001X' }).values).toEqual({ Id: '003A', AccountId: '001X' });
    const poly = await mapperFor(
      ctx,
      ['Id', 'WhoId'].map((n) => ({ path: n, field: f(n) })),
    );
    expect(asked).toBe(1);
    expect(poly({ Id: '003A', WhoId: '00QLz0000000001AAA' }).values['WhoId@target']).toBe('Lead');
  });

  it('converts neutral values for writes', () => {
    expect(toWireValue(['A', 'B'])).toBe('A;B');
    expect(toWireValue(new Date('2024-01-01T00:00:00Z'))).toBe('2024-01-01T00:00:00.000Z');
    expect(toWireValue(null)).toBeNull();
    expect(toCsvCell(null)).toBe('#N/A');
    expect(toCsvCell(undefined)).toBe('');
    expect(toCsvCell(3)).toBe('3');
    expect(toCsvCell(['A', 'B'])).toBe('A;B');
  });
});

describe('Bulk 2.0 sf__Error', () => {
  it('splits code, message (with colons) and fields', () => {
    expect(parseBulkError('REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --')).toEqual({
      code: 'REQUIRED_FIELD_MISSING',
      message: 'Required fields are missing: [Name]',
      fields: ['Name'],
    });
    expect(parseBulkError('UNABLE_TO_LOCK_ROW')).toEqual({ code: 'UNABLE_TO_LOCK_ROW', message: 'UNABLE_TO_LOCK_ROW' });
    expect(parseBulkError('FIELD_CUSTOM_VALIDATION_EXCEPTION:Bad value:-- ')).toEqual({
      code: 'FIELD_CUSTOM_VALIDATION_EXCEPTION',
      message: 'Bad value',
    });
    expect(parseBulkError('INVALID_EMAIL_ADDRESS:Email: invalid email address: x:Email,Other__c --').fields).toEqual([
      'Email',
      'Other__c',
    ]);
  });
});
