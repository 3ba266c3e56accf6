import { stableGuid } from './dynamics-ids.js';
import type { AttributeDef, AttributeType, EntityDef, OptionDef, OptionSetDef } from './dynamics-schema-types.js';

/** Renders the sandbox's schema as the Web API's metadata JSON (EntityMetadata, AttributeMetadata, OptionSets). */

export function label(text: string, id = stableGuid('label', text)): Record<string, unknown> {
  const l = { Label: text, LanguageCode: 1033, IsManaged: true, MetadataId: id, HasChanged: null };
  return { LocalizedLabels: [l], UserLocalizedLabel: l };
}

const EMPTY_LABEL = { LocalizedLabels: [], UserLocalizedLabel: null };

/** AttributeType → derived metadata type name (without namespace). */
export const METADATA_TYPES: Record<AttributeType, string> = {
  Uniqueidentifier: 'UniqueIdentifierAttributeMetadata',
  String: 'StringAttributeMetadata',
  Memo: 'MemoAttributeMetadata',
  Integer: 'IntegerAttributeMetadata',
  BigInt: 'BigIntAttributeMetadata',
  Decimal: 'DecimalAttributeMetadata',
  Double: 'DoubleAttributeMetadata',
  Money: 'MoneyAttributeMetadata',
  Boolean: 'BooleanAttributeMetadata',
  DateTime: 'DateTimeAttributeMetadata',
  Picklist: 'PicklistAttributeMetadata',
  MultiSelectPicklist: 'MultiSelectPicklistAttributeMetadata',
  State: 'StateAttributeMetadata',
  Status: 'StatusAttributeMetadata',
  Lookup: 'LookupAttributeMetadata',
  Customer: 'LookupAttributeMetadata',
  Owner: 'LookupAttributeMetadata',
  EntityName: 'EntityNameAttributeMetadata',
};

/** Properties every AttributeMetadata has (the ones `$select` accepts without a type cast). */
export const BASE_ATTRIBUTE_PROPERTIES = new Set([
  'MetadataId',
  'HasChanged',
  'LogicalName',
  'SchemaName',
  'EntityLogicalName',
  'AttributeType',
  'AttributeTypeName',
  'DisplayName',
  'Description',
  'RequiredLevel',
  'IsValidForCreate',
  'IsValidForUpdate',
  'IsValidForRead',
  'IsCustomAttribute',
  'IsPrimaryId',
  'IsPrimaryName',
  'IsLogical',
  'IsManaged',
  'IsValidODataAttribute',
  'AttributeOf',
  'ColumnNumber',
  'IntroducedVersion',
  'IsSecured',
  'IsFilterable',
  'IsSearchable',
  'IsRetrievable',
]);

export function entityJson(e: EntityDef): Record<string, unknown> {
  return {
    MetadataId: e.metadataId,
    HasChanged: null,
    LogicalName: e.logicalName,
    SchemaName: e.schemaName,
    EntitySetName: e.entitySetName,
    LogicalCollectionName: e.entitySetName,
    CollectionSchemaName: e.schemaName + 's',
    PrimaryIdAttribute: e.primaryIdAttribute,
    PrimaryNameAttribute: e.primaryNameAttribute,
    PrimaryImageAttribute: null,
    ObjectTypeCode: e.objectTypeCode,
    DisplayName: label(e.displayName),
    DisplayCollectionName: label(e.displayCollectionName),
    Description: EMPTY_LABEL,
    IsCustomEntity: e.isCustomEntity,
    IsManaged: !e.isCustomEntity,
    IsActivity: false,
    IsIntersect: false,
    IsLogicalEntity: false,
    IsValidForAdvancedFind: true,
    IsPrivate: false,
    ChangeTrackingEnabled: e.changeTrackingEnabled,
    IsOptimisticConcurrencyEnabled: true,
    OwnershipType: e.ownershipType,
    TableType: 'Standard',
    IntroducedVersion: e.isCustomEntity ? '1.0.0.0' : '5.0.0.0',
    CanCreateAttributes: { Value: true, CanBeChanged: false, ManagedPropertyLogicalName: 'cancreateattributes' },
  };
}

function optionJson(o: OptionDef, type: AttributeType): Record<string, unknown> {
  const base: Record<string, unknown> = {
    Value: o.value,
    Color: null,
    IsManaged: true,
    ExternalValue: '',
    ParentValues: [],
    Tag: null,
    IsHidden: false,
    MetadataId: null,
    HasChanged: null,
    Label: label(o.label),
    Description: EMPTY_LABEL,
  };
  if (type === 'State') {
    base['@odata.type'] = '#Microsoft.Dynamics.CRM.StateOptionMetadata';
    base.DefaultStatus = o.defaultStatus ?? null;
    base.InvariantName = o.invariantName ?? o.label;
  }
  if (type === 'Status') {
    base['@odata.type'] = '#Microsoft.Dynamics.CRM.StatusOptionMetadata';
    base.State = o.state ?? 0;
    base.TransitionData = null;
  }
  return base;
}

export function optionSetJson(set: OptionSetDef, type: AttributeType): Record<string, unknown> {
  const optionSetType = type === 'MultiSelectPicklist' ? 'Picklist' : type;
  return {
    MetadataId: set.metadataId,
    HasChanged: null,
    IsCustomOptionSet: set.name.startsWith('lia_') || set.name.includes('_lia_'),
    IsGlobal: set.isGlobal,
    IsManaged: !set.name.includes('lia_'),
    Name: set.name,
    ExternalTypeName: null,
    OptionSetType: optionSetType,
    IntroducedVersion: '1.0.0.0',
    ParentOptionSetName: null,
    Description: EMPTY_LABEL,
    DisplayName: label(set.name),
    IsCustomizable: { Value: true, CanBeChanged: true, ManagedPropertyLogicalName: 'iscustomizable' },
    Options: set.options.map((o) => optionJson(o, type)),
  };
}

function booleanOptionSet(a: AttributeDef): Record<string, unknown> {
  const opt = (value: number, text: string) => ({
    Value: value,
    Color: null,
    IsManaged: true,
    ExternalValue: null,
    MetadataId: null,
    HasChanged: null,
    Label: label(text),
    Description: EMPTY_LABEL,
  });
  return {
    MetadataId: stableGuid('booleanset', a.metadataId),
    Name: `${a.logicalName}`,
    IsGlobal: false,
    IsCustomOptionSet: a.isCustom,
    OptionSetType: 'Boolean',
    TrueOption: opt(1, a.trueLabel ?? 'Yes'),
    FalseOption: opt(0, a.falseLabel ?? 'No'),
  };
}

/** One attribute's JSON; `expand` adds OptionSet / GlobalOptionSet navigation properties. */
export function attributeJson(
  e: EntityDef,
  a: AttributeDef,
  columnNumber: number,
  expand: Set<string>,
): Record<string, unknown> {
  const metadataType = METADATA_TYPES[a.type];
  const out: Record<string, unknown> = {
    '@odata.type': `#Microsoft.Dynamics.CRM.${metadataType}`,
    MetadataId: a.metadataId,
    HasChanged: null,
    LogicalName: a.logicalName,
    SchemaName: a.schemaName,
    EntityLogicalName: e.logicalName,
    AttributeType: a.type === 'MultiSelectPicklist' ? 'Virtual' : a.type,
    AttributeTypeName: { Value: `${a.type}Type` },
    DisplayName: label(a.displayName),
    Description: EMPTY_LABEL,
    RequiredLevel: {
      Value: a.required,
      CanBeChanged: !a.isPrimaryId,
      ManagedPropertyLogicalName: 'canmodifyrequirementlevelsettings',
    },
    IsValidForCreate: a.validForCreate,
    IsValidForUpdate: a.validForUpdate,
    IsValidForRead: a.validForRead,
    IsCustomAttribute: a.isCustom,
    IsPrimaryId: a.isPrimaryId === true,
    IsPrimaryName: a.isPrimaryName === true,
    IsLogical: false,
    IsManaged: !a.isCustom,
    IsValidODataAttribute: a.notOnWire !== true,
    IsSecured: false,
    IsFilterable: true,
    IsSearchable: true,
    IsRetrievable: true,
    AttributeOf: a.type === 'EntityName' ? a.logicalName.replace(/type$/, '') : null,
    ColumnNumber: columnNumber,
    IntroducedVersion: a.isCustom ? '1.0.0.0' : '5.0.0.0',
  };
  switch (a.type) {
    case 'String':
      Object.assign(out, {
        MaxLength: a.maxLength ?? 100,
        DatabaseLength: (a.maxLength ?? 100) * 2,
        Format: a.format ?? 'Text',
        FormatName: { Value: a.format ?? 'Text' },
      });
      break;
    case 'Memo':
      Object.assign(out, {
        MaxLength: a.maxLength ?? 2000,
        DatabaseLength: (a.maxLength ?? 2000) * 2,
        Format: 'TextArea',
      });
      break;
    case 'Integer':
      Object.assign(out, { MinValue: a.minValue ?? -2147483648, MaxValue: a.maxValue ?? 2147483647, Format: 'None' });
      break;
    case 'BigInt':
      Object.assign(out, { MinValue: a.minValue ?? -9223372036854775808, MaxValue: a.maxValue ?? 9223372036854775807 });
      break;
    case 'Decimal':
    case 'Double':
      Object.assign(out, {
        Precision: a.precision ?? 2,
        MinValue: a.minValue ?? -100000000000,
        MaxValue: a.maxValue ?? 100000000000,
      });
      break;
    case 'Money':
      Object.assign(out, {
        Precision: a.precision ?? 2,
        PrecisionSource: 2,
        MinValue: a.minValue ?? -922337203685477,
        MaxValue: a.maxValue ?? 922337203685477,
        IsBaseCurrency: false,
      });
      break;
    case 'DateTime':
      Object.assign(out, {
        Format: a.format ?? 'DateAndTime',
        DateTimeBehavior: { Value: a.dateBehavior ?? 'UserLocal' },
        CanChangeDateTimeBehavior: {
          Value: a.isCustom,
          CanBeChanged: false,
          ManagedPropertyLogicalName: 'canchangedatetimebehavior',
        },
      });
      break;
    case 'Lookup':
    case 'Customer':
    case 'Owner':
      out.Targets = a.targets ?? [];
      break;
    case 'Boolean':
      out.DefaultValue = false;
      if (expand.has('OptionSet')) out.OptionSet = booleanOptionSet(a);
      break;
    case 'Picklist':
    case 'MultiSelectPicklist':
    case 'State':
    case 'Status':
      out.DefaultFormValue = a.type === 'Picklist' || a.type === 'MultiSelectPicklist' ? -1 : null;
      if (a.optionSet) {
        if (expand.has('OptionSet')) out.OptionSet = optionSetJson(a.optionSet, a.type);
        if (expand.has('GlobalOptionSet'))
          out.GlobalOptionSet = a.optionSet.isGlobal ? optionSetJson(a.optionSet, a.type) : null;
      }
      break;
    default:
      break;
  }
  return out;
}
