import { address, location, makeField, ref, ro, systemFields } from './schema-fields.js';
import type { SfField } from './schema-types.js';

/**
 * The objects the sandbox serves — a small but representative slice of a Sales Cloud org — as
 * [name, labelPlural, keyPrefix, fields, custom?] rows.
 */
const required = { nillable: false };
const personName = makeField('Name', 'string', {
  label: 'Full Name',
  length: 121,
  ...ro,
  nameField: true,
  nillable: false,
});
const nameField = (length = 255) => makeField('Name', 'string', { length, nameField: true, ...required });
const LEAD_SOURCES = ['Web', 'Phone Inquiry', 'Partner Referral', 'Purchased List', 'Other'];

export function defineObjects(): [string, string, string, SfField[], boolean?][] {
  return [
    [
      'User',
      'Users',
      '005',
      [
        ...systemFields(false),
        makeField('Username', 'string', { length: 80, ...required, unique: true, idLookup: true }),
        makeField('FirstName', 'string', { length: 40 }),
        makeField('LastName', 'string', { length: 80, ...required }),
        makeField('Name', 'string', { label: 'Full Name', length: 121, ...ro, nameField: true }),
        makeField('Email', 'email', { length: 128, ...required }),
        makeField('Alias', 'string', { length: 8, ...required }),
        makeField('IsActive', 'boolean', { label: 'Active' }),
      ],
    ],
    [
      'Account',
      'Accounts',
      '001',
      [
        ...systemFields(true),
        nameField(),
        makeField('AccountNumber', 'string', { length: 40 }),
        makeField('Type', 'picklist', {
          picklist: ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Partner', 'Other'],
        }),
        makeField('Industry', 'picklist', {
          picklist: ['Agriculture', 'Banking', 'Education', 'Energy', 'Healthcare', 'Retail', 'Technology'],
        }),
        makeField('Phone', 'phone'),
        makeField('Website', 'url'),
        makeField('AnnualRevenue', 'currency'),
        makeField('NumberOfEmployees', 'int', { label: 'Employees', digits: 8 }),
        makeField('Description', 'textarea'),
        ...address('Billing'),
      ],
    ],
    [
      'Contact',
      'Contacts',
      '003',
      [
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
        makeField('Loyalty_Tier__c', 'picklist', {
          picklist: ['Bronze', 'Silver', 'Gold', 'Platinum'],
          restrictedPicklist: true,
        }),
        makeField('Loyalty_Benefit__c', 'picklist', {
          dependentPicklist: true,
          controllerName: 'Loyalty_Tier__c',
          picklist: ['Free shipping', 'Lounge access', 'Birthday gift'],
        }),
        makeField('Interests__c', 'multipicklist', {
          picklist: ['Cycling', 'Hiking', 'Cooking', 'Music', 'Travel', 'Reading'],
        }),
        makeField('Customer_Number__c', 'string', { length: 20, externalId: true, unique: true, idLookup: true }),
        makeField('Score__c', 'double', { precision: 5, scale: 1 }),
        makeField('Discount__c', 'percent', { precision: 5, scale: 2 }),
        makeField('Lifetime_Value__c', 'currency', { precision: 16, scale: 2 }),
        makeField('Visits__c', 'int', { digits: 9 }),
        makeField('Last_Purchase__c', 'datetime', { label: 'Last Purchase' }),
        makeField('Home_Page__c', 'url'),
        ...location('Home_Location__c'),
      ],
    ],
    [
      'Lead',
      'Leads',
      '00Q',
      [
        ...systemFields(true),
        makeField('FirstName', 'string', { length: 40 }),
        makeField('LastName', 'string', { length: 80, ...required }),
        personName,
        makeField('Company', 'string', { ...required }),
        makeField('Email', 'email'),
        makeField('Phone', 'phone'),
        makeField('Status', 'picklist', {
          ...required,
          defaultedOnCreate: true,
          defaultValue: 'Open - Not Contacted',
          picklist: [
            ['Open - Not Contacted', true],
            'Working - Contacted',
            'Closed - Converted',
            'Closed - Not Converted',
          ],
        }),
        makeField('LeadSource', 'picklist', { picklist: LEAD_SOURCES }),
        makeField('Rating', 'picklist', { picklist: ['Hot', 'Warm', 'Cold'] }),
        makeField('IsConverted', 'boolean', { label: 'Converted', createable: false, updateable: false }),
      ],
    ],
    [
      'Product2',
      'Products',
      '01t',
      [
        ...systemFields(false),
        makeField('Name', 'string', { label: 'Product Name', nameField: true, ...required }),
        makeField('ProductCode', 'string'),
        makeField('Family', 'picklist', { label: 'Product Family', picklist: ['Hardware', 'Software', 'Service'] }),
        makeField('IsActive', 'boolean', { label: 'Active' }),
      ],
    ],
    [
      'Opportunity',
      'Opportunities',
      '006',
      [
        ...systemFields(true),
        ref('AccountId', 'Account', 'Account', { label: 'Account ID' }),
        makeField('Name', 'string', { length: 120, nameField: true, ...required }),
        makeField('StageName', 'picklist', {
          label: 'Stage',
          ...required,
          picklist: [
            'Prospecting',
            'Qualification',
            'Proposal/Price Quote',
            'Negotiation/Review',
            'Closed Won',
            'Closed Lost',
          ],
        }),
        makeField('CloseDate', 'date', { ...required }),
        makeField('Amount', 'currency'),
        makeField('Probability', 'percent', { precision: 3, scale: 0 }),
      ],
    ],
    [
      'Order',
      'Orders',
      '801',
      [
        ...systemFields(true),
        ref('AccountId', 'Account', 'Account', { label: 'Account ID', ...required }),
        makeField('OrderNumber', 'string', { label: 'Order Number', length: 30, ...ro, system: true, nameField: true }),
        makeField('Status', 'picklist', { ...required, picklist: [['Draft', true], 'Activated'] }),
        makeField('EffectiveDate', 'date', { label: 'Order Start Date', ...required }),
        makeField('TotalAmount', 'currency', {
          label: 'Order Amount',
          createable: false,
          updateable: false,
          calculated: true,
        }),
      ],
    ],
    [
      'OrderItem',
      'Order Products',
      '802',
      [
        ...systemFields(false),
        ref('OrderId', 'Order', 'Order', { ...required, updateable: false }),
        ref('Product2Id', 'Product2', 'Product2'),
        makeField('Quantity', 'double', { precision: 18, scale: 2, ...required }),
        makeField('UnitPrice', 'currency', { ...required }),
      ],
    ],
    [
      'Campaign',
      'Campaigns',
      '701',
      [
        ...systemFields(true),
        makeField('Name', 'string', { length: 80, nameField: true, ...required }),
        makeField('Status', 'picklist', { picklist: ['Planned', 'In Progress', 'Completed', 'Aborted'] }),
        makeField('StartDate', 'date'),
        makeField('EndDate', 'date'),
        makeField('IsActive', 'boolean', { label: 'Active' }),
      ],
    ],
    [
      'CampaignMember',
      'Campaign Members',
      '00v',
      [
        ...systemFields(false),
        ref('CampaignId', 'Campaign', 'Campaign', { ...required, updateable: false }),
        ref('ContactId', 'Contact', 'Contact'),
        ref('LeadId', 'Lead', 'Lead'),
        makeField('Status', 'picklist', { picklist: [['Sent', true], 'Responded'] }),
      ],
    ],
    [
      'Loyalty_Card__c',
      'Loyalty Cards',
      'a0L',
      [
        ...systemFields(true),
        makeField('Name', 'string', { label: 'Loyalty Card Name', length: 80, nameField: true, custom: false }),
        ref('Contact__c', 'Contact', 'Contact__r', { label: 'Contact' }),
        makeField('Card_Number__c', 'string', { length: 32, externalId: true, unique: true }),
        makeField('Points__c', 'double', { precision: 10, scale: 0 }),
        makeField('Issued_On__c', 'date'),
        makeField('Active__c', 'boolean'),
      ],
      true,
    ],
  ];
}
