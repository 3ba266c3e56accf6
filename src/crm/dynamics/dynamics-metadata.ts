/**
 * Maps Dataverse metadata (EntityDefinitions, Attributes, option sets) to Liaison's neutral ObjectMetadata.
 * Pure functions over parsed JSON, so the mapping is unit-tested without a server.
 */
import type { FieldMetadata, FieldType, ObjectMetadata, ObjectSummary, PicklistValue } from '../metadata.js';

type Json = Record<string, unknown>;

export const MODSTAMP_FIELD = 'modifiedon';

/** Option-set casts: each derived attribute type needs its own query. */
export const OPTION_SET_CASTS = [
  'PicklistAttributeMetadata',
  'MultiSelectPicklistAttributeMetadata',
  'StateAttributeMetadata',
  'StatusAttributeMetadata',
] as const;

function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function num(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function obj(value: unknown): Json | undefined {
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Json) : undefined;
}

/** A Label's text in the caller's language, falling back to the first localized label. */
export function labelText(label: unknown, fallback: string): string {
  const l = obj(label);
  const user = str(obj(l?.UserLocalizedLabel)?.Label);
  if (user) return user;
  const first = Array.isArray(l?.LocalizedLabels) ? str(obj(l.LocalizedLabels[0])?.Label) : undefined;
  return first ?? fallback;
}

/** A managed property (`{Value: true}`) or a plain boolean. */
function flag(value: unknown, fallback: boolean): boolean {
  if (typeof value === 'boolean') return value;
  const inner = obj(value)?.Value;
  return typeof inner === 'boolean' ? inner : fallback;
}

export function toObjectSummary(def: Json): ObjectSummary {
  const name = str(def.LogicalName) ?? '';
  return {
    name,
    label: labelText(def.DisplayName, name),
    labelPlural: labelText(def.DisplayCollectionName, name),
    custom: flag(def.IsCustomEntity, false),
    // Dataverse has no per-table read/create flags on the definition; privileges decide per user.
    queryable: true,
    createable: true,
    updateable: true,
    deletable: true,
  };
}

/** The attribute's type name without the `Type` suffix, preferring AttributeTypeName (MultiSelectPicklist is `Virtual` in AttributeType). */
export function attributeTypeName(attr: Json): string {
  const typeName = str(obj(attr.AttributeTypeName)?.Value);
  if (typeName) return typeName.replace(/Type$/, '');
  return str(attr.AttributeType) ?? 'Unknown';
}

const SIMPLE_TYPES: Record<string, FieldType> = {
  Uniqueidentifier: 'id',
  Memo: 'text',
  Integer: 'integer',
  BigInt: 'bigint',
  Decimal: 'decimal',
  Money: 'decimal',
  Double: 'double',
  Boolean: 'boolean',
  Picklist: 'picklist',
  State: 'picklist',
  Status: 'picklist',
  MultiSelectPicklist: 'multipicklist',
  Lookup: 'reference',
  Customer: 'reference',
  Owner: 'reference',
};

const STRING_FORMATS: Record<string, FieldType> = { email: 'email', phone: 'phone', url: 'url', textarea: 'text' };

function formatOf(attr: Json): string | undefined {
  return (str(attr.Format) ?? str(obj(attr.FormatName)?.Value))?.toLowerCase();
}

export function neutralType(attr: Json): FieldType {
  const crmType = attributeTypeName(attr);
  if (crmType === 'String') return STRING_FORMATS[formatOf(attr) ?? ''] ?? 'string';
  if (crmType === 'DateTime') {
    const behavior = str(obj(attr.DateTimeBehavior)?.Value);
    return formatOf(attr) === 'dateonly' || behavior === 'DateOnly' ? 'date' : 'datetime';
  }
  return SIMPLE_TYPES[crmType] ?? 'unsupported';
}

/** Total digits of a decimal: the integer digits of its MaxValue plus the scale. */
function decimalPrecision(attr: Json, scale: number | undefined): number | undefined {
  const max = num(attr.MaxValue);
  if (max === undefined || scale === undefined) return undefined;
  return String(Math.floor(Math.abs(max))).length + scale;
}

export function toFieldMetadata(attr: Json): FieldMetadata {
  const name = str(attr.LogicalName) ?? '';
  const crmType = attributeTypeName(attr);
  const type = neutralType(attr);
  const requiredLevel = str(obj(attr.RequiredLevel)?.Value) ?? 'None';
  const field: FieldMetadata = {
    name,
    label: labelText(attr.DisplayName, name),
    type,
    crmType,
    nillable: requiredLevel !== 'SystemRequired' && requiredLevel !== 'ApplicationRequired',
    createable: attr.IsValidForCreate === true,
    updateable: attr.IsValidForUpdate === true,
  };
  const maxLength = num(attr.MaxLength);
  if (maxLength !== undefined && ['string', 'text', 'email', 'phone', 'url'].includes(type)) field.length = maxLength;
  if (crmType === 'Decimal' || crmType === 'Money' || crmType === 'Double') {
    // Dataverse's Precision is the number of decimal places, i.e. the neutral scale.
    const scale = num(attr.Precision);
    if (scale !== undefined) field.scale = scale;
    const precision = decimalPrecision(attr, scale);
    if (precision !== undefined) field.precision = precision;
  }
  if (type === 'reference') {
    field.referenceTo = Array.isArray(attr.Targets)
      ? attr.Targets.filter((t): t is string => typeof t === 'string')
      : [];
    // The single-valued navigation property used in `@odata.bind` (case-sensitive): system lookups use the logical
    // name (`primarycontactid`), custom ones their schema name (`lia_ContactId`). Multi-target lookups have one per
    // target (`parentcustomerid_account`), built at write time.
    const schemaName = str(attr.SchemaName);
    if (field.referenceTo.length === 1)
      field.relationshipName = attr.IsCustomAttribute === true && schemaName ? schemaName : name;
  }
  if (name === MODSTAMP_FIELD) field.isModstamp = true;
  return field;
}

/** Option values as strings; status options carry their owning state so the state acts as controller. */
export function toPicklist(attr: Json, defaultValue?: number): NonNullable<FieldMetadata['picklist']> {
  const optionSet = obj(attr.OptionSet) ?? obj(attr.GlobalOptionSet);
  const global = obj(attr.GlobalOptionSet);
  const isStatus =
    attributeTypeName(attr) === 'Status' || str(attr['@odata.type'])?.includes('StatusAttributeMetadata') === true;
  const options = Array.isArray(optionSet?.Options) ? optionSet.Options : [];
  const values: PicklistValue[] = [];
  for (const raw of options) {
    const option = obj(raw);
    const value = num(option?.Value);
    if (!option || value === undefined) continue;
    const entry: PicklistValue = {
      value: String(value),
      label: labelText(option.Label, String(value)),
      active: true,
      isDefault: value === defaultValue,
    };
    const state = num(option.State);
    if (isStatus && state !== undefined) entry.validFor = [String(state)];
    values.push(entry);
  }
  const picklist: NonNullable<FieldMetadata['picklist']> = { values, restricted: true };
  if (isStatus) picklist.controllerName = 'statecode';
  const globalName = str(global?.Name) ?? (optionSet?.IsGlobal === true ? str(optionSet.Name) : undefined);
  if (globalName) picklist.globalName = globalName;
  return picklist;
}

/** Assembles the neutral description from the definition, its attributes, option-set rows and alternate keys. */
export function toObjectMetadata(
  def: Json,
  attributes: Json[],
  optionSetRows: Json[],
  keys: string[][] = [],
): ObjectMetadata {
  const summary = toObjectSummary(def);
  const options = new Map<string, Json>();
  for (const row of optionSetRows) {
    const name = str(row.LogicalName);
    if (name) options.set(name, row);
  }
  const singleKeys = new Set(keys.filter((k) => k.length === 1).map((k) => k[0]!));
  const fields = attributes
    .filter((a) => a.AttributeOf === null || a.AttributeOf === undefined) // companions such as owneridname are not columns of their own
    .map((attr) => {
      const field = toFieldMetadata(attr);
      const withOptions = options.get(field.name);
      if (withOptions && (field.type === 'picklist' || field.type === 'multipicklist')) {
        field.picklist = toPicklist(withOptions, num(withOptions.DefaultFormValue) ?? num(attr.DefaultFormValue));
      }
      if (singleKeys.has(field.name)) {
        field.externalId = true;
        field.unique = true;
      }
      return field;
    });
  const idField = str(def.PrimaryIdAttribute) ?? `${summary.name}id`;
  const nameField = str(def.PrimaryNameAttribute);
  const meta: ObjectMetadata = {
    ...summary,
    idField,
    modstampField: MODSTAMP_FIELD,
    fields,
    collectionName: str(def.EntitySetName) ?? summary.name,
  };
  if (nameField) meta.nameField = nameField;
  return meta;
}
