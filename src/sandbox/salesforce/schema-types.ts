/**
 * The sandbox's own model of Salesforce metadata. Field properties follow the describe wire format (jsforce's
 * `Field` type mirrors it), so describe responses are built from these objects with few conversions.
 */
export type SfFieldType =
  | 'id'
  | 'string'
  | 'textarea'
  | 'email'
  | 'phone'
  | 'url'
  | 'boolean'
  | 'int'
  | 'double'
  | 'currency'
  | 'percent'
  | 'date'
  | 'datetime'
  | 'picklist'
  | 'multipicklist'
  | 'reference'
  | 'address'
  | 'location';

/** Field types whose values are text on the wire (what describe sizes in bytes and SOQL compares as strings). */
export const TEXT_FIELD_TYPES: ReadonlySet<SfFieldType> = new Set<SfFieldType>([
  'string',
  'textarea',
  'email',
  'phone',
  'url',
  'picklist',
  'multipicklist',
  'id',
  'reference',
]);

export interface SfPicklistEntry {
  value: string;
  label: string;
  active: boolean;
  defaultValue: boolean;
  validFor: string | null;
}

export interface SfField {
  name: string;
  label: string;
  type: SfFieldType;
  length: number;
  precision: number;
  scale: number;
  digits: number;
  nillable: boolean;
  createable: boolean;
  updateable: boolean;
  defaultedOnCreate: boolean;
  externalId: boolean;
  unique: boolean;
  idLookup: boolean;
  nameField: boolean;
  referenceTo: string[];
  relationshipName: string | null;
  picklistValues: SfPicklistEntry[];
  restrictedPicklist: boolean;
  dependentPicklist: boolean;
  controllerName: string | null;
  compoundFieldName: string | null;
  calculated: boolean;
  custom: boolean;
  defaultValue: string | boolean | number | null;
  /** Compound fields (address, location) have no column: they are assembled from their components. */
  stored: boolean;
  /** Set by the sandbox itself on every write (Id, audit fields, IsDeleted, Name of a person). */
  system: boolean;
}

export interface SfObject {
  name: string;
  label: string;
  labelPlural: string;
  keyPrefix: string;
  custom: boolean;
  fields: SfField[];
  /** Lower-cased field name → field: SOQL and JSON bodies are case-insensitive about field names. */
  byName: Map<string, SfField>;
  /** Lower-cased relationship name (`account`, `contact__r`) → the reference field. */
  byRelationship: Map<string, SfField>;
  /** Bumped on every metadata change so cached statements are rebuilt. */
  version: number;
  /** When the metadata last changed (ms): describe honours If-Modified-Since against it. */
  modifiedAt: number;
}

/** A Salesforce API error: `status` is the HTTP status, `errorCode` the documented code. */
export class SfApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: string,
    message: string,
    readonly fields: string[] = [],
  ) {
    super(message);
    this.name = 'SfApiError';
  }
}
