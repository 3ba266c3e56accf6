/** Dataverse-shaped metadata rows for the unit tests, as the Web API returns them. */
import { toObjectMetadata } from '../../src/crm/dynamics/dynamics-metadata.js';

const label = (text: string) => ({
  LocalizedLabels: [{ Label: text, LanguageCode: 1033 }],
  UserLocalizedLabel: { Label: text, LanguageCode: 1033 },
});

export function attribute(name: string, type: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    '@odata.type': `#Microsoft.Dynamics.CRM.${type}AttributeMetadata`,
    LogicalName: name,
    AttributeType: type === 'MultiSelectPicklist' ? 'Virtual' : type,
    AttributeTypeName: { Value: `${type}Type` },
    DisplayName: label(name),
    RequiredLevel: { Value: 'None', CanBeChanged: true },
    IsValidForCreate: true,
    IsValidForUpdate: true,
    IsValidForRead: true,
    AttributeOf: null,
    ...extra,
  };
}

export const contactDefinition = {
  LogicalName: 'contact',
  EntitySetName: 'contacts',
  PrimaryIdAttribute: 'contactid',
  PrimaryNameAttribute: 'fullname',
  DisplayName: label('Contact'),
  DisplayCollectionName: label('Contacts'),
  IsCustomEntity: false,
};

export const contactAttributes = [
  attribute('contactid', 'Uniqueidentifier', {
    IsPrimaryId: true,
    RequiredLevel: { Value: 'SystemRequired' },
    IsValidForUpdate: false,
  }),
  attribute('firstname', 'String', { MaxLength: 50, Format: 'Text' }),
  attribute('lastname', 'String', { MaxLength: 50, RequiredLevel: { Value: 'ApplicationRequired' } }),
  attribute('emailaddress1', 'String', { MaxLength: 100, Format: 'Email' }),
  attribute('telephone1', 'String', { MaxLength: 50, FormatName: { Value: 'Phone' } }),
  attribute('websiteurl', 'String', { MaxLength: 200, Format: 'Url' }),
  attribute('description', 'Memo', { MaxLength: 2000 }),
  attribute('numberofchildren', 'Integer'),
  attribute('versionnumber', 'BigInt', { IsValidForCreate: false, IsValidForUpdate: false }),
  attribute('creditlimit', 'Money', { Precision: 2, MaxValue: 922337203685477 }),
  attribute('lia_score', 'Decimal', { Precision: 4, MaxValue: 100000 }),
  attribute('lia_ratio', 'Double', { Precision: 5 }),
  attribute('donotemail', 'Boolean'),
  attribute('birthdate', 'DateTime', { Format: 'DateOnly', DateTimeBehavior: { Value: 'DateOnly' } }),
  attribute('modifiedon', 'DateTime', { Format: 'DateAndTime', IsValidForCreate: false, IsValidForUpdate: false }),
  attribute('createdon', 'DateTime', { Format: 'DateAndTime', IsValidForCreate: false, IsValidForUpdate: false }),
  attribute('preferredcontactmethodcode', 'Picklist'),
  attribute('lia_interests', 'MultiSelectPicklist'),
  attribute('statecode', 'State'),
  attribute('statuscode', 'Status'),
  attribute('parentcustomerid', 'Customer', { Targets: ['account', 'contact'] }),
  attribute('ownerid', 'Owner', { Targets: ['systemuser', 'team'] }),
  attribute('transactioncurrencyid', 'Lookup', { Targets: ['transactioncurrency'] }),
  attribute('lia_referrerid', 'Lookup', {
    Targets: ['contact'],
    SchemaName: 'lia_ReferrerId',
    IsCustomAttribute: true,
  }),
  attribute('owneridname', 'String', { AttributeOf: 'ownerid' }),
  attribute('lia_customernumber', 'String', { MaxLength: 20 }),
  attribute('owneridtype', 'EntityName'),
];

const option = (value: number, text: string, extra: Record<string, unknown> = {}) => ({
  Value: value,
  Label: label(text),
  ...extra,
});

export const contactOptionSets = [
  {
    LogicalName: 'preferredcontactmethodcode',
    DefaultFormValue: 1,
    OptionSet: {
      Name: 'contact_preferredcontactmethodcode',
      IsGlobal: false,
      Options: [option(1, 'Any'), option(2, 'Email')],
    },
    GlobalOptionSet: null,
  },
  {
    LogicalName: 'lia_interests',
    DefaultFormValue: -1,
    OptionSet: null,
    GlobalOptionSet: {
      Name: 'lia_interest',
      IsGlobal: true,
      Options: [option(100000000, 'Golf'), option(100000001, 'Wine')],
    },
  },
  {
    '@odata.type': '#Microsoft.Dynamics.CRM.StateAttributeMetadata',
    LogicalName: 'statecode',
    OptionSet: {
      Name: 'contact_statecode',
      IsGlobal: false,
      Options: [option(0, 'Active', { DefaultStatus: 1 }), option(1, 'Inactive', { DefaultStatus: 2 })],
    },
  },
  {
    '@odata.type': '#Microsoft.Dynamics.CRM.StatusAttributeMetadata',
    LogicalName: 'statuscode',
    OptionSet: {
      Name: 'contact_statuscode',
      IsGlobal: false,
      Options: [option(1, 'Active', { State: 0 }), option(2, 'Inactive', { State: 1 })],
    },
  },
];

export const contactMeta = toObjectMetadata(contactDefinition, contactAttributes, contactOptionSets, [
  ['lia_customernumber'],
]);
