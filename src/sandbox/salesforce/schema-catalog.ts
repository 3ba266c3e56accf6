import type { SfField, SfFieldType, SfObject, SfPicklistEntry } from './schema-types.js';

/**
 * The objects the sandbox serves: a small but representative slice of a Sales Cloud org, with every common field
 * type, a compound address, a geolocation field, a custom object and custom fields on Contact.
 */
type FieldOptions = Partial<Omit<SfField, 'name' | 'type' | 'picklistValues'>> & { picklist?: (string | [string, boolean])[] };

const TEXT_LENGTH: Partial<Record<SfFieldType, number>> = {
  id: 18, reference: 18, string: 255, textarea: 32000, email: 80, phone: 40, url: 255, picklist: 255, multipicklist: 4099,
};

export function picklistEntries(values: (string | [string, boolean])[]): SfPicklistEntry[] {
  return values.map((v) => {
    const [value, isDefault] = typeof v === 'string' ? [v, false] : v;
    return { value, label: value, active: true, defaultValue: isDefault, validFor: null };
  });
}

function labelOf(name: string): string {
  const base = name.replace(/__c$|__s$/, '').replace(/Id$/, '').replace(/_/g, ' ');
  return base.replace(/([a-z])([A-Z])/g, '$1 $2');
}

/** Builds a field with Salesforce's defaults for its type; `options` overrides them. */
export function makeField(name: string, type: SfFieldType, options: FieldOptions = {}): SfField {
  const custom = name.endsWith('__c');
  const numeric = type === 'double' || type === 'currency' || type === 'percent';
  const { picklist, ...rest } = options;
  return {
    name,
    label: labelOf(name),
    type,
    length: TEXT_LENGTH[type] ?? 0,
    precision: numeric ? 18 : 0,
    scale: numeric ? 2 : 0,
    digits: type === 'int' ? 9 : 0,
    nillable: type !== 'boolean' && type !== 'id',
    createable: type !== 'id',
    updateable: type !== 'id',
    defaultedOnCreate: type === 'boolean' || type === 'id',
    externalId: false,
    unique: false,
    idLookup: type === 'id',
    nameField: false,
    referenceTo: [],
    relationshipName: null,
    restrictedPicklist: false,
    dependentPicklist: false,
    controllerName: null,
    compoundFieldName: null,
    calculated: false,
    custom,
    defaultValue: type === 'boolean' ? false : null,
    stored: type !== 'address' && type !== 'location',
    system: false,
    ...rest,
    picklistValues: picklist ? picklistEntries(picklist) : [],
  };
}

const ro = { createable: false, updateable: false, system: true };

function systemFields(withOwner: boolean): SfField[] {
  const fields = [
    makeField('Id', 'id', { label: 'Record ID', ...ro, defaultedOnCreate: true }),
    makeField('IsDeleted', 'boolean', { label: 'Deleted', ...ro }),
    makeField('CreatedDate', 'datetime', { ...ro, nillable: false, defaultedOnCreate: true }),
    makeField('CreatedById', 'reference', { label: 'Created By ID', ...ro, nillable: false, defaultedOnCreate: true, referenceTo: ['User'], relationshipName: 'CreatedBy' }),
    makeField('LastModifiedDate', 'datetime', { ...ro, nillable: false, defaultedOnCreate: true }),
    makeField('LastModifiedById', 'reference', { label: 'Last Modified By ID', ...ro, nillable: false, defaultedOnCreate: true, referenceTo: ['User'], relationshipName: 'LastModifiedBy' }),
    makeField('SystemModstamp', 'datetime', { label: 'System Modstamp', ...ro, nillable: false, defaultedOnCreate: true }),
  ];
  if (withOwner) {
    fields.push(makeField('OwnerId', 'reference', { label: 'Owner ID', nillable: false, defaultedOnCreate: true, referenceTo: ['User'], relationshipName: 'Owner' }));
  }
  return fields;
}

function address(prefix: string): SfField[] {
  const compound = `${prefix}Address`;
  const part = (suffix: string, type: SfFieldType, options: FieldOptions = {}) =>
    makeField(`${prefix}${suffix}`, type, { label: `${prefix} ${suffix.replace('PostalCode', 'Zip/Postal Code')}`, compoundFieldName: compound, ...options });
  return [
    part('Street', 'textarea', { length: 255 }),
    part('City', 'string', { length: 40 }),
    part('State', 'string', { length: 80 }),
    part('PostalCode', 'string', { length: 20 }),
    part('Country', 'string', { length: 80 }),
    part('Latitude', 'double', { precision: 18, scale: 15 }),
    part('Longitude', 'double', { precision: 18, scale: 15 }),
    makeField(compound, 'address', { label: `${prefix} Address`, createable: false, updateable: false }),
  ];
}

function location(name: string): SfField[] {
  const base = name.replace(/__c$/, '');
  return [
    makeField(name, 'location', { label: labelOf(name), createable: false, updateable: false }),
    makeField(`${base}__Latitude__s`, 'double', { label: `${labelOf(name)} (Latitude)`, precision: 18, scale: 15, compoundFieldName: name, custom: true }),
    makeField(`${base}__Longitude__s`, 'double', { label: `${labelOf(name)} (Longitude)`, precision: 18, scale: 15, compoundFieldName: name, custom: true }),
  ];
}

function ref(name: string, target: string, relationshipName: string, options: FieldOptions = {}): SfField {
  return makeField(name, 'reference', { referenceTo: [target], relationshipName, ...options });
}

const required = { nillable: false };
const personName = makeField('Name', 'string', { label: 'Full Name', length: 121, ...ro, nameField: true, nillable: false });
const nameField = (length = 255) => makeField('Name', 'string', { length, nameField: true, ...required });
const LEAD_SOURCES = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'];

function defineObjects(): [string, string, string, SfField[], boolean?][] {
  return [
    ['User', 'Users', '005', [
      ...systemFields(false),
      makeField('Username', 'string', { length: 80, ...required, unique: true, idLookup: true }),
      makeField('FirstName', 'string', { length: 40 }),
      makeField('LastName', 'string', { length: 80, ...required }),
      makeField('Name', 'string', { label: 'Full Name', length: 121, ...ro, nameField: true }),
      makeField('Email', 'email', { length: 128, ...required }),
      makeField('Alias', 'string', { length: 8, ...required }),
      makeField('IsActive', 'boolean', { label: 'Active' }),
    ]],
    ['Account', 'Accounts', '001', [
      ...systemFields(true),
      nameField(),
      makeField('AccountNumber', 'string', { length: 40 }),
      makeField('Type', 'picklist', { picklist: ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Partner', 'Other'] }),
      makeField('Industry', 'picklist', { picklist: ['Agriculture', 'Banking', 'Education', 'Energy', 'Healthcare', 'Retail', 'Technology'] }),
      makeField('Phone', 'phone'),
      makeField('Website', 'url'),
      makeField('AnnualRevenue', 'currency'),
      makeField('NumberOfEmployees', 'int', { label: 'Employees', digits: 8 }),
      makeField('Description', 'textarea'),
      ...address('Billing'),
    ]],
    ['Contact', 'Contacts', '003', [
      ...systemFields(true),
      ref('AccountId', 'Account', 'Account', { label: 'Account ID' }),
      makeField('Salutation', 'picklist', { picklist: ['Mr.', 'Ms.', 'Mrs.', 'Dr.', 'Prof.'] }),
      makeField('FirstName', 'string', { length: 40 }),
      makeField('LastName', 'string', { length: 80, ...required }),
      personName,
      makeField('Title', 'string', { length: 128 }),
      makeField('Email', 'email', { idLookup: true }),
      makeField('Phone', 'phone'),
      makeField('MobilePhone', 'phone'),
      makeField('Birthdate', 'date'),
      makeField('LeadSource', 'picklist', { picklist: LEAD_SOURCES }),
      makeField('HasOptedOutOfEmail', 'boolean', { label: 'Email Opt Out' }),
      makeField('DoNotCall', 'boolean'),
      makeField('Description', 'textarea'),
      ...address('Mailing'),
      makeField('Loyalty_Tier__c', 'picklist', { picklist: ['Bronze', 'Silver', 'Gold', 'Platinum'], restrictedPicklist: true }),
      makeField('Loyalty_Benefit__c', 'picklist', {
        dependentPicklist: true,
        controllerName: 'Loyalty_Tier__c',
        picklist: ['Free shipping', 'Lounge access', 'Birthday gift'],
      }),
      makeField('Interests__c', 'multipicklist', { picklist: ['Cycling', 'Hiking', 'Cooking', 'Music', 'Travel', 'Reading'] }),
      makeField('Customer_Number__c', 'string', { length: 20, externalId: true, unique: true, idLookup: true }),
      makeField('Score__c', 'double', { precision: 5, scale: 1 }),
      makeField('Discount__c', 'percent', { precision: 5, scale: 2 }),
      makeField('Lifetime_Value__c', 'currency', { precision: 16, scale: 2 }),
      makeField('Visits__c', 'int', { digits: 9 }),
      makeField('Last_Purchase__c', 'datetime', { label: 'Last Purchase' }),
      makeField('Home_Page__c', 'url'),
      ...location('Home_Location__c'),
    ]],
    ['Lead', 'Leads', '00Q', [
      ...systemFields(true),
      makeField('FirstName', 'string', { length: 40 }),
      makeField('LastName', 'string', { length: 80, ...required }),
      personName,
      makeField('Company', 'string', { ...required }),
      makeField('Email', 'email'),
      makeField('Phone', 'phone'),
      makeField('Status', 'picklist', { ...required, defaultedOnCreate: true, defaultValue: 'Open - Not Contacted', picklist: [['Open - Not Contacted', true], 'Working - Contacted', 'Closed - Converted', 'Closed - Not Converted'] }),
      makeField('LeadSource', 'picklist', { picklist: LEAD_SOURCES }),
      makeField('Rating', 'picklist', { picklist: ['Hot', 'Warm', 'Cold'] }),
      makeField('IsConverted', 'boolean', { label: 'Converted', createable: false, updateable: false }),
    ]],
    ['Product2', 'Products', '01t', [
      ...systemFields(false),
      makeField('Name', 'string', { label: 'Product Name', nameField: true, ...required }),
      makeField('ProductCode', 'string'),
      makeField('Family', 'picklist', { label: 'Product Family', picklist: ['Hardware', 'Software', 'Service'] }),
      makeField('IsActive', 'boolean', { label: 'Active' }),
    ]],
    ['Opportunity', 'Opportunities', '006', [
      ...systemFields(true),
      ref('AccountId', 'Account', 'Account', { label: 'Account ID' }),
      makeField('Name', 'string', { length: 120, nameField: true, ...required }),
      makeField('StageName', 'picklist', { label: 'Stage', ...required, picklist: ['Prospecting', 'Qualification', 'Proposal/Price Quote', 'Negotiation/Review', 'Closed Won', 'Closed Lost'] }),
      makeField('CloseDate', 'date', { ...required }),
      makeField('Amount', 'currency'),
      makeField('Probability', 'percent', { precision: 3, scale: 0 }),
    ]],
    ['Order', 'Orders', '801', [
      ...systemFields(true),
      ref('AccountId', 'Account', 'Account', { label: 'Account ID', ...required }),
      makeField('OrderNumber', 'string', { label: 'Order Number', length: 30, ...ro, system: true, nameField: true }),
      makeField('Status', 'picklist', { ...required, picklist: [['Draft', true], 'Activated'] }),
      makeField('EffectiveDate', 'date', { label: 'Order Start Date', ...required }),
      makeField('TotalAmount', 'currency', { label: 'Order Amount', createable: false, updateable: false, calculated: true }),
    ]],
    ['OrderItem', 'Order Products', '802', [
      ...systemFields(false),
      ref('OrderId', 'Order', 'Order', { ...required, updateable: false }),
      ref('Product2Id', 'Product2', 'Product2'),
      makeField('Quantity', 'double', { precision: 18, scale: 2, ...required }),
      makeField('UnitPrice', 'currency', { ...required }),
    ]],
    ['Campaign', 'Campaigns', '701', [
      ...systemFields(true),
      makeField('Name', 'string', { length: 80, nameField: true, ...required }),
      makeField('Status', 'picklist', { picklist: ['Planned', 'In Progress', 'Completed', 'Aborted'] }),
      makeField('StartDate', 'date'),
      makeField('EndDate', 'date'),
      makeField('IsActive', 'boolean', { label: 'Active' }),
    ]],
    ['CampaignMember', 'Campaign Members', '00v', [
      ...systemFields(false),
      ref('CampaignId', 'Campaign', 'Campaign', { ...required, updateable: false }),
      ref('ContactId', 'Contact', 'Contact'),
      ref('LeadId', 'Lead', 'Lead'),
      makeField('Status', 'picklist', { picklist: [['Sent', true], 'Responded'] }),
    ]],
    ['Loyalty_Card__c', 'Loyalty Cards', 'a0L', [
      ...systemFields(true),
      makeField('Name', 'string', { label: 'Loyalty Card Name', length: 80, nameField: true, custom: false }),
      ref('Contact__c', 'Contact', 'Contact__r', { label: 'Contact' }),
      makeField('Card_Number__c', 'string', { length: 32, externalId: true, unique: true }),
      makeField('Points__c', 'double', { precision: 10, scale: 0 }),
      makeField('Issued_On__c', 'date'),
      makeField('Active__c', 'boolean'),
    ], true],
  ];
}

/**
 * validFor of a dependent picklist entry: a base64 bitset over the controlling field's values, bit i (most
 * significant first within each byte) set when the entry is valid for controller value i.
 */
export function validForBits(indexes: number[], controllerValues: number): string {
  const bytes = new Uint8Array(Math.max(3, Math.ceil(controllerValues / 8)));
  for (const i of indexes) bytes[i >> 3] = (bytes[i >> 3] ?? 0) | (0x80 >> (i % 8));
  return Buffer.from(bytes).toString('base64');
}

/** Fills validFor of the dependent picklists (which controller values each entry is valid for). */
function linkDependentPicklists(object: SfObject): void {
  const validity: Record<string, number[]> = { 'Free shipping': [1, 2, 3], 'Lounge access': [3], 'Birthday gift': [0, 1, 2, 3] };
  for (const field of object.fields) {
    if (!field.dependentPicklist || !field.controllerName) continue;
    const controller = object.fields.find((f) => f.name === field.controllerName);
    for (const entry of field.picklistValues) {
      entry.validFor = validForBits(validity[entry.value] ?? [], controller?.picklistValues.length ?? 0);
    }
  }
}

export function indexObject(object: SfObject): void {
  object.byName = new Map(object.fields.map((f) => [f.name.toLowerCase(), f]));
  object.byRelationship = new Map(
    object.fields.filter((f) => f.type === 'reference' && f.relationshipName).map((f) => [String(f.relationshipName).toLowerCase(), f]),
  );
  object.version++;
  object.modifiedAt = Date.now();
}

/** A fresh copy of the catalog: each sandbox owns its metadata, which admin calls may change. */
export function buildCatalog(): Map<string, SfObject> {
  const catalog = new Map<string, SfObject>();
  for (const [name, labelPlural, keyPrefix, fields, custom] of defineObjects()) {
    const object: SfObject = {
      name,
      label: name.endsWith('__c') ? name.replace(/__c$/, '').replace(/_/g, ' ') : name === 'Product2' ? 'Product' : name.replace(/([a-z])([A-Z])/g, '$1 $2'),
      labelPlural,
      keyPrefix,
      custom: custom === true,
      fields,
      byName: new Map(),
      byRelationship: new Map(),
      version: 0,
      modifiedAt: 0,
    };
    linkDependentPicklists(object);
    indexObject(object);
    catalog.set(name.toLowerCase(), object);
  }
  return catalog;
}
