/**
 * The CRM-neutral metadata model. Every driver maps its CRM's describe/metadata answers into these shapes, so
 * the wizard, enumeration sync and connector activity never see a Salesforce or Dataverse wire format.
 */

/** Neutral field types. Drivers map each CRM type to one of these; `unsupported` keeps the CRM's name for reporting. */
export type FieldType =
  | 'id'
  | 'string'
  | 'text' // long text (textarea, memo)
  | 'email'
  | 'phone'
  | 'url'
  | 'boolean'
  | 'integer'
  | 'bigint'
  | 'decimal' // currency, percent, double with scale
  | 'double'
  | 'date'
  | 'datetime'
  | 'time'
  | 'picklist'
  | 'multipicklist'
  | 'reference'
  | 'address' // compound, stored as its components
  | 'location' // compound geolocation, stored as latitude/longitude
  | 'unsupported';

export interface PicklistValue {
  /** The API value: Salesforce's picklist value, Dataverse's option value as a string ("100000000"). */
  value: string;
  label: string;
  active: boolean;
  isDefault: boolean;
  /** For dependent picklists: the controlling field's values this value is valid for. */
  validFor?: string[];
}

export interface FieldMetadata {
  /** API name as the CRM spells it (Salesforce `FirstName`, Dataverse logical name `firstname`). */
  name: string;
  label: string;
  type: FieldType;
  /** The CRM's own type name (e.g. `currency`, `Customer`, `MultiSelectPicklist`), for display and reporting. */
  crmType: string;
  length?: number;
  precision?: number;
  scale?: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  externalId?: boolean;
  unique?: boolean;
  /** For references: the target object names (several for polymorphic/customer/owner lookups). */
  referenceTo?: string[];
  relationshipName?: string;
  picklist?: {
    values: PicklistValue[];
    restricted: boolean;
    /** Name of the controlling field for a dependent picklist. */
    controllerName?: string;
    /** Shared (global) option set name, when the CRM has one. */
    globalName?: string;
  };
  /** For components of a compound field (Salesforce `MailingStreet` → `MailingAddress`). */
  compoundFieldName?: string;
  /** True for the field the driver uses as the incremental cursor (SystemModstamp, modifiedon). */
  isModstamp?: boolean;
}

export interface ObjectSummary {
  name: string;
  label: string;
  labelPlural?: string;
  custom: boolean;
  queryable: boolean;
  createable: boolean;
  updateable: boolean;
  deletable: boolean;
}

export interface ObjectMetadata extends ObjectSummary {
  idField: string;
  nameField?: string;
  /** Field used for incremental reads (Salesforce `SystemModstamp`, Dataverse `modifiedon`). */
  modstampField: string;
  fields: FieldMetadata[];
  /** Name the CRM uses on the wire for collections when it differs (Dataverse entity set name `contacts`). */
  collectionName?: string;
}
