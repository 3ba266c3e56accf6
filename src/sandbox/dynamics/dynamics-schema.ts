import {
  ACTIVE_INACTIVE,
  attr,
  entity,
  options,
  required,
  stateStatus,
  systemColumns,
} from './dynamics-schema-builders.js';
import type { EntityDef, OptionSetDef } from './dynamics-schema-types.js';

/**
 * The tables the sandbox serves: the standard sales tables a marketing link touches, plus a publisher-prefixed
 * custom table and custom columns on contact, so every Dataverse attribute type appears at least once.
 */

export const LOYALTY_TIER_OPTIONS: OptionSetDef = options('lia_loyaltytier', true, [
  [100000000, 'Bronze'],
  [100000001, 'Silver'],
  [100000002, 'Gold'],
  [100000003, 'Platinum'],
]);

const INTERESTS = options('contact_lia_interests', false, [
  [100000000, 'Sports'],
  [100000001, 'Music'],
  [100000002, 'Travel'],
  [100000003, 'Food & Drink'],
  [100000004, 'Technology'],
]);

const INDUSTRY = options('account_industrycode', false, [
  [1, 'Accounting'],
  [2, 'Agriculture and Non-petrol Natural Resource Extraction'],
  [3, 'Broadcasting Printing and Publishing'],
  [4, 'Brokers'],
  [5, 'Building Supply Retail'],
  [6, 'Business Services'],
  [7, 'Consulting'],
  [8, 'Consumer Services'],
]);

const LEAD_SOURCE = options('lead_leadsourcecode', false, [
  [1, 'Advertisement'],
  [2, 'Employee Referral'],
  [3, 'External Referral'],
  [4, 'Partner'],
  [8, 'Web'],
  [10, 'Other'],
]);

function contact(): EntityDef {
  const e = 'contact';
  return entity({
    logicalName: e,
    entitySetName: 'contacts',
    primaryIdAttribute: 'contactid',
    primaryNameAttribute: 'fullname',
    displayName: 'Contact',
    displayCollectionName: 'Contacts',
    objectTypeCode: 2,
    isCustomEntity: false,
    changeTrackingEnabled: true,
    ownershipType: 'UserOwned',
    keys: [['lia_customernumberkey', ['lia_customernumber']]],
    attributes: [
      ...systemColumns(e, 'contactid', 'UserOwned', true),
      attr(e, 'fullname', 'String', { maxLength: 160, isPrimaryName: true, computed: true, displayName: 'Full Name' }),
      attr(e, 'firstname', 'String', { maxLength: 50, required: 'Recommended', displayName: 'First Name' }),
      attr(e, 'lastname', 'String', { maxLength: 50, ...required(), displayName: 'Last Name' }),
      attr(e, 'emailaddress1', 'String', { maxLength: 100, format: 'Email', displayName: 'Email' }),
      attr(e, 'telephone1', 'String', { maxLength: 50, format: 'Phone', displayName: 'Business Phone' }),
      attr(e, 'mobilephone', 'String', { maxLength: 50, format: 'Phone', displayName: 'Mobile Phone' }),
      attr(e, 'jobtitle', 'String', { maxLength: 100, displayName: 'Job Title' }),
      attr(e, 'address1_city', 'String', { maxLength: 80, displayName: 'Address 1: City' }),
      attr(e, 'address1_country', 'String', { maxLength: 80, displayName: 'Address 1: Country/Region' }),
      attr(e, 'address1_postalcode', 'String', { maxLength: 20, displayName: 'Address 1: ZIP/Postal Code' }),
      attr(e, 'address1_latitude', 'Double', {
        precision: 5,
        minValue: -90,
        maxValue: 90,
        displayName: 'Address 1: Latitude',
      }),
      attr(e, 'description', 'Memo', { maxLength: 2000, displayName: 'Description' }),
      attr(e, 'birthdate', 'DateTime', { dateBehavior: 'DateOnly', format: 'DateOnly', displayName: 'Birthday' }),
      attr(e, 'gendercode', 'Picklist', {
        optionSet: options('contact_gendercode', false, [
          [1, 'Male'],
          [2, 'Female'],
        ]),
        displayName: 'Gender',
      }),
      attr(e, 'donotemail', 'Boolean', {
        trueLabel: 'Do Not Allow',
        falseLabel: 'Allow',
        displayName: 'Do not allow Emails',
      }),
      attr(e, 'numberofchildren', 'Integer', { minValue: 0, maxValue: 1000000000, displayName: 'No. of Children' }),
      attr(e, 'creditlimit', 'Money', {
        precision: 2,
        minValue: 0,
        maxValue: 100000000000000,
        displayName: 'Credit Limit',
      }),
      attr(e, 'parentcustomerid', 'Customer', { targets: ['account', 'contact'], displayName: 'Company Name' }),
      attr(e, 'parentcustomeridtype', 'EntityName', { validForCreate: false, validForUpdate: false, notOnWire: true }),
      ...stateStatus(e, ...ACTIVE_INACTIVE),
      attr(e, 'lia_loyaltytier', 'Picklist', {
        schemaName: 'lia_LoyaltyTier',
        optionSet: LOYALTY_TIER_OPTIONS,
        displayName: 'Loyalty Tier',
      }),
      attr(e, 'lia_interests', 'MultiSelectPicklist', {
        schemaName: 'lia_Interests',
        optionSet: INTERESTS,
        displayName: 'Interests',
      }),
      attr(e, 'lia_customernumber', 'String', {
        schemaName: 'lia_CustomerNumber',
        maxLength: 20,
        displayName: 'Customer Number',
      }),
      attr(e, 'lia_score', 'Decimal', {
        schemaName: 'lia_Score',
        precision: 2,
        minValue: -100000,
        maxValue: 100000,
        displayName: 'Score',
      }),
      attr(e, 'lia_points', 'BigInt', { schemaName: 'lia_Points', displayName: 'Lifetime Points' }),
      attr(e, 'lia_lastpurchaseon', 'DateTime', {
        schemaName: 'lia_LastPurchaseOn',
        dateBehavior: 'TimeZoneIndependent',
        format: 'DateAndTime',
        displayName: 'Last Purchase On',
      }),
    ],
  });
}

function account(): EntityDef {
  const e = 'account';
  return entity({
    logicalName: e,
    entitySetName: 'accounts',
    primaryIdAttribute: 'accountid',
    primaryNameAttribute: 'name',
    displayName: 'Account',
    displayCollectionName: 'Accounts',
    objectTypeCode: 1,
    isCustomEntity: false,
    changeTrackingEnabled: true,
    ownershipType: 'UserOwned',
    keys: [['accountnumberkey', ['accountnumber']]],
    attributes: [
      ...systemColumns(e, 'accountid', 'UserOwned', true),
      attr(e, 'name', 'String', { maxLength: 160, isPrimaryName: true, ...required(), displayName: 'Account Name' }),
      attr(e, 'accountnumber', 'String', { maxLength: 20, displayName: 'Account Number' }),
      attr(e, 'telephone1', 'String', { maxLength: 50, format: 'Phone', displayName: 'Main Phone' }),
      attr(e, 'emailaddress1', 'String', { maxLength: 100, format: 'Email', displayName: 'Email' }),
      attr(e, 'websiteurl', 'String', { maxLength: 200, format: 'Url', displayName: 'Website' }),
      attr(e, 'address1_city', 'String', { maxLength: 80, displayName: 'Address 1: City' }),
      attr(e, 'address1_country', 'String', { maxLength: 80, displayName: 'Address 1: Country/Region' }),
      attr(e, 'description', 'Memo', { maxLength: 2000, displayName: 'Description' }),
      attr(e, 'industrycode', 'Picklist', { optionSet: INDUSTRY, displayName: 'Industry' }),
      attr(e, 'revenue', 'Money', {
        precision: 2,
        minValue: 0,
        maxValue: 100000000000000,
        displayName: 'Annual Revenue',
      }),
      attr(e, 'numberofemployees', 'Integer', {
        minValue: 0,
        maxValue: 1000000000,
        displayName: 'Number of Employees',
      }),
      attr(e, 'creditonhold', 'Boolean', { trueLabel: 'Yes', falseLabel: 'No', displayName: 'Credit Hold' }),
      attr(e, 'primarycontactid', 'Lookup', { targets: ['contact'], displayName: 'Primary Contact' }),
      attr(e, 'parentaccountid', 'Lookup', { targets: ['account'], displayName: 'Parent Account' }),
      ...stateStatus(e, ...ACTIVE_INACTIVE),
    ],
  });
}

function lead(): EntityDef {
  const e = 'lead';
  return entity({
    logicalName: e,
    entitySetName: 'leads',
    primaryIdAttribute: 'leadid',
    primaryNameAttribute: 'fullname',
    displayName: 'Lead',
    displayCollectionName: 'Leads',
    objectTypeCode: 4,
    isCustomEntity: false,
    changeTrackingEnabled: true,
    ownershipType: 'UserOwned',
    attributes: [
      ...systemColumns(e, 'leadid', 'UserOwned', true),
      attr(e, 'fullname', 'String', { maxLength: 160, isPrimaryName: true, computed: true, displayName: 'Name' }),
      attr(e, 'subject', 'String', { maxLength: 300, ...required(), displayName: 'Topic' }),
      attr(e, 'firstname', 'String', { maxLength: 50, displayName: 'First Name' }),
      attr(e, 'lastname', 'String', { maxLength: 50, ...required(), displayName: 'Last Name' }),
      attr(e, 'companyname', 'String', { maxLength: 100, displayName: 'Company Name' }),
      attr(e, 'emailaddress1', 'String', { maxLength: 100, format: 'Email', displayName: 'Email' }),
      attr(e, 'leadsourcecode', 'Picklist', { optionSet: LEAD_SOURCE, displayName: 'Lead Source' }),
      attr(e, 'estimatedvalue', 'Money', {
        precision: 2,
        minValue: 0,
        maxValue: 100000000000000,
        displayName: 'Est. Value',
      }),
      attr(e, 'parentcontactid', 'Lookup', { targets: ['contact'], displayName: 'Existing Contact' }),
      attr(e, 'parentaccountid', 'Lookup', { targets: ['account'], displayName: 'Existing Account' }),
      ...stateStatus(
        e,
        [
          [0, 'Open', 1],
          [1, 'Qualified', 3],
          [2, 'Disqualified', 4],
        ],
        [
          [1, 'New', 0],
          [2, 'Contacted', 0],
          [3, 'Qualified', 1],
          [4, 'Lost', 2],
          [5, 'Cannot Contact', 2],
        ],
      ),
    ],
  });
}

function opportunity(): EntityDef {
  const e = 'opportunity';
  return entity({
    logicalName: e,
    entitySetName: 'opportunities',
    primaryIdAttribute: 'opportunityid',
    primaryNameAttribute: 'name',
    displayName: 'Opportunity',
    displayCollectionName: 'Opportunities',
    objectTypeCode: 3,
    isCustomEntity: false,
    changeTrackingEnabled: true,
    ownershipType: 'UserOwned',
    attributes: [
      ...systemColumns(e, 'opportunityid', 'UserOwned', true),
      attr(e, 'name', 'String', { maxLength: 300, isPrimaryName: true, ...required(), displayName: 'Topic' }),
      attr(e, 'customerid', 'Customer', { targets: ['account', 'contact'], displayName: 'Potential Customer' }),
      attr(e, 'customeridtype', 'EntityName', { validForCreate: false, validForUpdate: false, notOnWire: true }),
      attr(e, 'estimatedvalue', 'Money', {
        precision: 2,
        minValue: 0,
        maxValue: 100000000000000,
        displayName: 'Est. Revenue',
      }),
      attr(e, 'estimatedclosedate', 'DateTime', {
        dateBehavior: 'DateOnly',
        format: 'DateOnly',
        displayName: 'Est. Close Date',
      }),
      attr(e, 'closeprobability', 'Integer', { minValue: 0, maxValue: 100, displayName: 'Probability' }),
      attr(e, 'parentcontactid', 'Lookup', { targets: ['contact'], displayName: 'Contact' }),
      attr(e, 'parentaccountid', 'Lookup', { targets: ['account'], displayName: 'Account' }),
      ...stateStatus(
        e,
        [
          [0, 'Open', 1],
          [1, 'Won', 3],
          [2, 'Lost', 4],
        ],
        [
          [1, 'In Progress', 0],
          [2, 'On Hold', 0],
          [3, 'Won', 1],
          [4, 'Canceled', 2],
          [5, 'Out-Sold', 2],
        ],
      ),
    ],
  });
}

function salesorder(): EntityDef {
  const e = 'salesorder';
  return entity({
    logicalName: e,
    entitySetName: 'salesorders',
    primaryIdAttribute: 'salesorderid',
    primaryNameAttribute: 'name',
    displayName: 'Order',
    displayCollectionName: 'Orders',
    objectTypeCode: 1088,
    isCustomEntity: false,
    changeTrackingEnabled: true,
    ownershipType: 'UserOwned',
    attributes: [
      ...systemColumns(e, 'salesorderid', 'UserOwned', true),
      attr(e, 'name', 'String', { maxLength: 300, isPrimaryName: true, ...required(), displayName: 'Name' }),
      attr(e, 'ordernumber', 'String', { maxLength: 100, displayName: 'Order ID' }),
      attr(e, 'customerid', 'Customer', { targets: ['account', 'contact'], displayName: 'Customer' }),
      attr(e, 'customeridtype', 'EntityName', { validForCreate: false, validForUpdate: false, notOnWire: true }),
      attr(e, 'opportunityid', 'Lookup', { targets: ['opportunity'], displayName: 'Opportunity' }),
      attr(e, 'totalamount', 'Money', {
        precision: 2,
        minValue: 0,
        maxValue: 100000000000000,
        displayName: 'Total Amount',
      }),
      attr(e, 'submitdate', 'DateTime', {
        dateBehavior: 'DateOnly',
        format: 'DateOnly',
        displayName: 'Date Submitted',
      }),
      ...stateStatus(
        e,
        [
          [0, 'Active', 1],
          [1, 'Submitted', 3],
          [2, 'Canceled', 4],
          [3, 'Fulfilled', 100001],
        ],
        [
          [1, 'New', 0],
          [2, 'Pending', 0],
          [3, 'In Progress', 1],
          [4, 'No Money', 2],
          [100001, 'Complete', 3],
        ],
      ),
    ],
  });
}

function salesorderdetail(): EntityDef {
  const e = 'salesorderdetail';
  return entity({
    logicalName: e,
    entitySetName: 'salesorderdetails',
    primaryIdAttribute: 'salesorderdetailid',
    primaryNameAttribute: 'productdescription',
    displayName: 'Order Product',
    displayCollectionName: 'Order Products',
    objectTypeCode: 1089,
    isCustomEntity: false,
    changeTrackingEnabled: false,
    ownershipType: 'UserOwned',
    attributes: [
      ...systemColumns(e, 'salesorderdetailid', 'UserOwned', true),
      attr(e, 'productdescription', 'String', { maxLength: 500, isPrimaryName: true, displayName: 'Write-In Product' }),
      attr(e, 'salesorderid', 'Lookup', { targets: ['salesorder'], required: 'SystemRequired', displayName: 'Order' }),
      attr(e, 'productid', 'Lookup', { targets: ['product'], displayName: 'Existing Product' }),
      attr(e, 'quantity', 'Decimal', {
        precision: 5,
        minValue: 0,
        maxValue: 1000000000,
        ...required(),
        displayName: 'Quantity',
      }),
      attr(e, 'priceperunit', 'Money', {
        precision: 2,
        minValue: 0,
        maxValue: 1000000000,
        displayName: 'Price Per Unit',
      }),
      attr(e, 'extendedamount', 'Money', { precision: 2, computed: true, displayName: 'Extended Amount' }),
      attr(e, 'ispriceoverridden', 'Boolean', {
        trueLabel: 'Override Price',
        falseLabel: 'Use Default',
        displayName: 'Pricing',
      }),
    ],
  });
}

function simpleEntity(
  e: string,
  set: string,
  otc: number,
  display: [string, string],
  nameAttr: string,
  ownership: EntityDef['ownershipType'],
  changeTracking: boolean,
  extra: EntityDef['attributes'],
  keys: Array<[string, string[]]> = [],
  hasMoney = false,
): EntityDef {
  return entity({
    logicalName: e,
    entitySetName: set,
    primaryIdAttribute: `${e}id`,
    primaryNameAttribute: nameAttr,
    displayName: display[0],
    displayCollectionName: display[1],
    objectTypeCode: otc,
    isCustomEntity: e.startsWith('lia_'),
    changeTrackingEnabled: changeTracking,
    ownershipType: ownership,
    keys,
    attributes: [...systemColumns(e, `${e}id`, ownership, hasMoney), ...extra],
  });
}

/** Builds a fresh copy of the schema (the admin API mutates it: addField, changeField…). */
export function buildSchema(): EntityDef[] {
  const product = simpleEntity(
    'product',
    'products',
    1024,
    ['Product', 'Products'],
    'name',
    'OrganizationOwned',
    true,
    [
      attr('product', 'name', 'String', { maxLength: 100, isPrimaryName: true, ...required() }),
      attr('product', 'productnumber', 'String', { maxLength: 100, ...required(), displayName: 'Product ID' }),
      attr('product', 'price', 'Money', { precision: 2, minValue: 0, maxValue: 1000000000, displayName: 'List Price' }),
      attr('product', 'description', 'Memo', { maxLength: 2000 }),
      ...stateStatus('product', ...ACTIVE_INACTIVE),
    ],
    [['productnumberkey', ['productnumber']]],
    true,
  );
  const campaign = simpleEntity(
    'campaign',
    'campaigns',
    4400,
    ['Campaign', 'Campaigns'],
    'name',
    'UserOwned',
    false,
    [
      attr('campaign', 'name', 'String', { maxLength: 128, isPrimaryName: true, ...required() }),
      attr('campaign', 'codename', 'String', { maxLength: 32, displayName: 'Campaign Code' }),
      attr('campaign', 'budgetedcost', 'Money', {
        precision: 2,
        minValue: 0,
        maxValue: 100000000000000,
        displayName: 'Budget Allocated',
      }),
      attr('campaign', 'actualstart', 'DateTime', {
        dateBehavior: 'DateOnly',
        format: 'DateOnly',
        displayName: 'Actual Start',
      }),
      attr('campaign', 'typecode', 'Picklist', {
        optionSet: options('campaign_typecode', false, [
          [1, 'Advertisement'],
          [2, 'Direct Marketing'],
          [3, 'Event'],
          [4, 'Co-branding'],
          [5, 'Other'],
        ]),
        displayName: 'Campaign Type',
      }),
      ...stateStatus('campaign', ...ACTIVE_INACTIVE),
    ],
    [],
    true,
  );
  const systemuser = simpleEntity(
    'systemuser',
    'systemusers',
    8,
    ['User', 'Users'],
    'fullname',
    'BusinessOwned',
    true,
    [
      attr('systemuser', 'fullname', 'String', {
        maxLength: 200,
        isPrimaryName: true,
        computed: true,
        displayName: 'Full Name',
      }),
      attr('systemuser', 'firstname', 'String', { maxLength: 64 }),
      attr('systemuser', 'lastname', 'String', { maxLength: 64, ...required() }),
      attr('systemuser', 'domainname', 'String', {
        maxLength: 1024,
        ...required('SystemRequired'),
        displayName: 'User Name',
      }),
      attr('systemuser', 'internalemailaddress', 'String', {
        maxLength: 100,
        format: 'Email',
        displayName: 'Primary Email',
      }),
      attr('systemuser', 'azureactivedirectoryobjectid', 'Uniqueidentifier', {
        validForUpdate: false,
        displayName: 'Azure AD Object ID',
      }),
      attr('systemuser', 'isdisabled', 'Boolean', {
        trueLabel: 'Disabled',
        falseLabel: 'Enabled',
        validForCreate: false,
        validForUpdate: false,
        displayName: 'Status',
      }),
    ],
  );
  const team = simpleEntity('team', 'teams', 9, ['Team', 'Teams'], 'name', 'BusinessOwned', false, [
    attr('team', 'name', 'String', {
      maxLength: 160,
      isPrimaryName: true,
      ...required('SystemRequired'),
      displayName: 'Team Name',
    }),
  ]);
  const currency = simpleEntity(
    'transactioncurrency',
    'transactioncurrencies',
    9105,
    ['Currency', 'Currencies'],
    'currencyname',
    'OrganizationOwned',
    false,
    [
      attr('transactioncurrency', 'currencyname', 'String', {
        maxLength: 100,
        isPrimaryName: true,
        ...required('SystemRequired'),
      }),
      attr('transactioncurrency', 'isocurrencycode', 'String', { maxLength: 5, ...required('SystemRequired') }),
      attr('transactioncurrency', 'currencysymbol', 'String', { maxLength: 10, ...required('SystemRequired') }),
    ],
  );
  const loyaltyCard = simpleEntity(
    'lia_loyaltycard',
    'lia_loyaltycards',
    10001,
    ['Loyalty Card', 'Loyalty Cards'],
    'lia_name',
    'UserOwned',
    true,
    [
      attr('lia_loyaltycard', 'lia_name', 'String', {
        schemaName: 'lia_Name',
        maxLength: 100,
        isPrimaryName: true,
        ...required(),
        displayName: 'Name',
      }),
      attr('lia_loyaltycard', 'lia_cardnumber', 'String', {
        schemaName: 'lia_CardNumber',
        maxLength: 30,
        ...required(),
        displayName: 'Card Number',
      }),
      attr('lia_loyaltycard', 'lia_contactid', 'Lookup', {
        schemaName: 'lia_ContactId',
        targets: ['contact'],
        displayName: 'Card Holder',
      }),
      attr('lia_loyaltycard', 'lia_points', 'Integer', {
        schemaName: 'lia_Points',
        minValue: 0,
        maxValue: 2147483647,
        displayName: 'Points',
      }),
      attr('lia_loyaltycard', 'lia_balance', 'Money', {
        schemaName: 'lia_Balance',
        precision: 2,
        minValue: 0,
        maxValue: 1000000000,
        displayName: 'Balance',
      }),
      attr('lia_loyaltycard', 'lia_issuedon', 'DateTime', {
        schemaName: 'lia_IssuedOn',
        dateBehavior: 'DateOnly',
        format: 'DateOnly',
        displayName: 'Issued On',
      }),
      attr('lia_loyaltycard', 'lia_active', 'Boolean', {
        schemaName: 'lia_Active',
        trueLabel: 'Yes',
        falseLabel: 'No',
        displayName: 'Active',
      }),
      attr('lia_loyaltycard', 'lia_tier', 'Picklist', {
        schemaName: 'lia_Tier',
        optionSet: LOYALTY_TIER_OPTIONS,
        displayName: 'Tier',
      }),
      ...stateStatus('lia_loyaltycard', ...ACTIVE_INACTIVE),
    ],
    [['lia_cardnumberkey', ['lia_cardnumber']]],
    true,
  );
  // structuredClone: shared option sets (the global loyalty tier) must not leak admin edits between sandboxes.
  return structuredClone([
    account(),
    contact(),
    lead(),
    opportunity(),
    salesorder(),
    salesorderdetail(),
    product,
    campaign,
    systemuser,
    team,
    currency,
    loyaltyCard,
  ]);
}
