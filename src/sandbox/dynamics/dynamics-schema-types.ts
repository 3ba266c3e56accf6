/**
 * The sandbox's own model of Dataverse table and column definitions. The metadata routes render it into the
 * Web API's EntityDefinitions/Attributes JSON; the store derives its SQLite tables from it; validation reads it.
 */

export type AttributeType =
  | 'Uniqueidentifier'
  | 'String'
  | 'Memo'
  | 'Integer'
  | 'BigInt'
  | 'Decimal'
  | 'Double'
  | 'Money'
  | 'Boolean'
  | 'DateTime'
  | 'Picklist'
  | 'MultiSelectPicklist'
  | 'State'
  | 'Status'
  | 'Lookup'
  | 'Customer'
  | 'Owner'
  | 'EntityName';

export type RequiredLevel = 'None' | 'SystemRequired' | 'ApplicationRequired' | 'Recommended';

/** One choice of an option set; `state` is the owning statecode of a status option, `defaultStatus` of a state option. */
export interface OptionDef {
  value: number;
  label: string;
  state?: number;
  defaultStatus?: number;
  invariantName?: string;
}

export interface OptionSetDef {
  name: string;
  isGlobal: boolean;
  options: OptionDef[];
  metadataId: string;
}

/** One column. `logicalName` is the wire name; lookups are read as `_<logicalName>_value`. */
export interface AttributeDef {
  logicalName: string;
  schemaName: string;
  type: AttributeType;
  displayName: string;
  required: RequiredLevel;
  validForCreate: boolean;
  validForUpdate: boolean;
  validForRead: boolean;
  isCustom: boolean;
  isPrimaryId?: boolean;
  isPrimaryName?: boolean;
  maxLength?: number;
  precision?: number;
  minValue?: number;
  maxValue?: number;
  /** DateTime: DateOnly values are `YYYY-MM-DD` on the wire. */
  dateBehavior?: 'UserLocal' | 'DateOnly' | 'TimeZoneIndependent';
  format?: string;
  targets?: string[];
  optionSet?: OptionSetDef;
  /** Boolean columns: labels of the two options. */
  trueLabel?: string;
  falseLabel?: string;
  /** Computed by the server (e.g. fullname); never accepted from clients. */
  computed?: boolean;
  /** Hidden from Web API record JSON (EntityName companions such as owneridtype). */
  notOnWire?: boolean;
  metadataId: string;
}

export interface AlternateKeyDef {
  logicalName: string;
  schemaName: string;
  attributes: string[];
  metadataId: string;
}

/** One table. */
export interface EntityDef {
  logicalName: string;
  schemaName: string;
  entitySetName: string;
  primaryIdAttribute: string;
  primaryNameAttribute: string;
  displayName: string;
  displayCollectionName: string;
  objectTypeCode: number;
  isCustomEntity: boolean;
  changeTrackingEnabled: boolean;
  ownershipType: 'UserOwned' | 'OrganizationOwned' | 'BusinessOwned';
  attributes: AttributeDef[];
  keys: AlternateKeyDef[];
  metadataId: string;
}
