import { AccountsService } from '../../src/accounts/accounts-service.js';
import { LiaisonError } from '../../src/core/errors.js';
import type { CrmDriver, CrmKind, DriverCapabilities, RecordPage } from '../../src/crm/driver.js';
import type { FieldMetadata, ObjectMetadata, ObjectSummary } from '../../src/crm/metadata.js';
import type { Store } from '../../src/store/store-types.js';
import type { WizardContext } from '../../src/wizard/wizard-service.js';

/**
 * A small in-memory CrmDriver for wizard and enumeration unit tests: metadata only, mutable between calls so a test
 * can play the CRM admin (add/remove/change fields, add picklist values, delete objects).
 */
export class FakeCrm {
  readonly objects = new Map<string, ObjectMetadata>();
  describeCalls = 0;

  constructor(readonly kind: CrmKind = 'salesforce') {}

  add(meta: ObjectMetadata): this {
    this.objects.set(meta.name.toLowerCase(), structuredClone(meta));
    return this;
  }

  object(name: string): ObjectMetadata {
    const meta = this.objects.get(name.toLowerCase());
    if (!meta) throw new Error(`fake CRM has no object ${name}`);
    return meta;
  }

  field(object: string, field: string): FieldMetadata {
    const found = this.object(object).fields.find((f) => f.name.toLowerCase() === field.toLowerCase());
    if (!found) throw new Error(`fake CRM has no field ${object}.${field}`);
    return found;
  }

  addField(object: string, field: FieldMetadata): void {
    this.object(object).fields.push(field);
  }

  removeField(object: string, field: string): void {
    const meta = this.object(object);
    meta.fields = meta.fields.filter((f) => f.name.toLowerCase() !== field.toLowerCase());
  }

  changeField(object: string, field: string, patch: Partial<FieldMetadata>): void {
    Object.assign(this.field(object, field), patch);
  }

  driver(): CrmDriver {
    return new FakeCrmDriver(this);
  }
}

const CAPABILITIES: DriverCapabilities = {
  batchWrite: false,
  maxBatchSize: 1,
  bulkWrite: false,
  upsertByExternalId: false,
  changeTracking: false,
  queryIncludesDeleted: false,
  maxPageSize: 200,
  maxIdsPerQuery: 100,
};

class FakeCrmDriver implements CrmDriver {
  readonly capabilities = CAPABILITIES;
  apiCalls = 0;
  constructor(private readonly crm: FakeCrm) {}
  get kind(): CrmKind {
    return this.crm.kind;
  }
  async testConnection(): Promise<never> {
    throw new LiaisonError('not_supported', 'fake driver: no connection test');
  }
  async listObjects(): Promise<ObjectSummary[]> {
    this.apiCalls++;
    return [...this.crm.objects.values()].map(
      ({ fields: _f, idField: _i, modstampField: _m, nameField: _n, collectionName: _c, ...summary }) => summary,
    );
  }
  async describeObject(name: string): Promise<ObjectMetadata> {
    this.apiCalls++;
    this.crm.describeCalls++;
    const meta = this.crm.objects.get(name.toLowerCase());
    if (!meta) throw new LiaisonError('object_not_found', `no object ${name}`);
    return structuredClone(meta);
  }
  async *query(): AsyncIterable<RecordPage> {
    throw new LiaisonError('not_supported', 'fake driver: no records');
  }
  async readDeleted(): Promise<never> {
    throw new LiaisonError('not_supported', 'fake driver: no records');
  }
  async writeBatch(): Promise<never> {
    throw new LiaisonError('not_supported', 'fake driver: no records');
  }
  async close(): Promise<void> {}
}

/** Field builders with the neutral model's shapes. */
export function field(name: string, type: FieldMetadata['type'], extra: Partial<FieldMetadata> = {}): FieldMetadata {
  return {
    name,
    label: name,
    type,
    crmType: extra.crmType ?? type,
    nillable: true,
    createable: true,
    updateable: true,
    ...extra,
  };
}

export function picklist(
  values: (string | [string, string, boolean?])[],
  extra: Partial<NonNullable<FieldMetadata['picklist']>> = {},
): NonNullable<FieldMetadata['picklist']> {
  return {
    values: values.map((v) => {
      const [value, label, active] = typeof v === 'string' ? [v, v, true] : v;
      return { value, label, active: active ?? true, isDefault: false };
    }),
    restricted: false,
    ...extra,
  };
}

export function object(name: string, fields: FieldMetadata[], extra: Partial<ObjectMetadata> = {}): ObjectMetadata {
  return {
    name,
    label: name,
    custom: name.endsWith('__c'),
    queryable: true,
    createable: true,
    updateable: true,
    deletable: true,
    idField: 'Id',
    modstampField: 'SystemModstamp',
    fields,
    ...extra,
  };
}

/** A Salesforce-like Contact/Account pair with every type the wizard maps. */
export function salesforceFixture(): FakeCrm {
  const system = [
    field('Id', 'id', { length: 18, nillable: false, createable: false, updateable: false }),
    field('SystemModstamp', 'datetime', { nillable: false, isModstamp: true }),
  ];
  return new FakeCrm('salesforce')
    .add(
      object('Account', [
        ...system,
        field('Name', 'string', { length: 255, nillable: false }),
        field('AnnualRevenue', 'decimal', { crmType: 'currency', precision: 18, scale: 2 }),
      ]),
    )
    .add(
      object('Contact', [
        ...system,
        field('AccountId', 'reference', { length: 18, referenceTo: ['Account'], relationshipName: 'Account' }),
        field('WhoId', 'reference', { length: 18, referenceTo: ['Contact', 'Lead'] }),
        field('LastName', 'string', { length: 80, nillable: false }),
        field('Email', 'email', { length: 80 }),
        field('Birthdate', 'date'),
        field('HasOptedOutOfEmail', 'boolean', { nillable: false }),
        field('Visits__c', 'integer', { crmType: 'int', precision: 9 }),
        field('Score__c', 'decimal', { crmType: 'double', precision: 5, scale: 1 }),
        field('Ratio__c', 'double'),
        field('Description', 'text', { crmType: 'textarea', length: 32000 }),
        field('LeadSource', 'picklist', {
          length: 255,
          picklist: picklist(['Web', 'Phone Inquiry', ['Old', 'Old', false]]),
        }),
        field('Interests__c', 'multipicklist', { length: 4099, picklist: picklist(['Cycling', 'Hiking', 'Music']) }),
        field('Sub_Source__c', 'picklist', {
          length: 255,
          picklist: {
            ...picklist([]),
            values: [{ value: 'Form', label: 'Form', active: true, isDefault: false, validFor: ['Web'] }],
            controllerName: 'LeadSource',
          },
        }),
        field('MailingStreet', 'text', { crmType: 'textarea', length: 255, compoundFieldName: 'MailingAddress' }),
        field('MailingCity', 'string', { length: 40, compoundFieldName: 'MailingAddress' }),
        field('MailingAddress', 'address', { createable: false, updateable: false }),
        field('Secret__c', 'unsupported', { crmType: 'encryptedblob' }),
      ]),
    );
}

/**
 * A wizard context on `store` with a Salesforce account "sf" whose driver is the fake CRM `crm` (default: the
 * Salesforce fixture). The account's URL is never called.
 */
export async function fakeWizardContext(
  store: Store,
  crm: FakeCrm = salesforceFixture(),
): Promise<{ ctx: WizardContext; crm: FakeCrm }> {
  const accounts = new AccountsService(store, () => ({ key: Buffer.alloc(32, 9), source: 'test key' }));
  await accounts.add({
    name: 'sf',
    crm: 'salesforce',
    url: 'https://fake.example.test',
    auth: 'client-credentials',
    clientId: 'c',
    secrets: { clientSecret: 's' },
  });
  return { ctx: { store, accounts, createDriver: () => crm.driver() }, crm };
}
