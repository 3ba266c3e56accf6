import { TEXT_FIELD_TYPES, type SfField, type SfFieldType, type SfObject } from './schema-types.js';

/** describeGlobal and sObject describe bodies in the REST wire format, built from the catalog. */
const SOAP_TYPE: Record<SfFieldType, string> = {
  id: 'tns:ID',
  reference: 'tns:ID',
  string: 'xsd:string',
  textarea: 'xsd:string',
  email: 'xsd:string',
  phone: 'xsd:string',
  url: 'xsd:string',
  picklist: 'xsd:string',
  multipicklist: 'xsd:string',
  boolean: 'xsd:boolean',
  int: 'xsd:int',
  double: 'xsd:double',
  currency: 'xsd:double',
  percent: 'xsd:double',
  date: 'xsd:date',
  datetime: 'xsd:dateTime',
  address: 'urn:address',
  location: 'urn:location',
};

function urls(object: SfObject, version: string): Record<string, string> {
  const base = `/services/data/v${version}/sobjects/${object.name}`;
  return {
    sobject: base,
    describe: `${base}/describe`,
    rowTemplate: `${base}/{ID}`,
    compactLayouts: `${base}/describe/compactLayouts`,
    layouts: `${base}/describe/layouts`,
  };
}

function objectSummary(object: SfObject, version: string): Record<string, unknown> {
  const readOnly = object.name === 'User';
  return {
    activateable: false,
    createable: true,
    custom: object.custom,
    customSetting: false,
    deepCloneable: false,
    deletable: !readOnly,
    deprecatedAndHidden: false,
    feedEnabled: false,
    hasSubtypes: false,
    isInterface: false,
    isSubtype: false,
    keyPrefix: object.keyPrefix,
    label: object.label,
    labelPlural: object.labelPlural,
    layoutable: true,
    mergeable: ['Account', 'Contact', 'Lead'].includes(object.name),
    mruEnabled: true,
    name: object.name,
    queryable: true,
    replicateable: true,
    retrieveable: true,
    searchable: true,
    triggerable: true,
    undeletable: !readOnly,
    updateable: true,
    urls: urls(object, version),
  };
}

export function describeGlobal(catalog: Map<string, SfObject>, version: string): Record<string, unknown> {
  const sobjects = [...catalog.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((o) => objectSummary(o, version));
  return { encoding: 'UTF-8', maxBatchSize: 200, sobjects };
}

function describeField(field: SfField): Record<string, unknown> {
  const stringy = TEXT_FIELD_TYPES.has(field.type);
  const filterable = field.type !== 'textarea' && field.type !== 'address' && field.type !== 'location';
  return {
    aggregatable: filterable,
    aiPredictionField: false,
    autoNumber: field.name === 'OrderNumber',
    byteLength: stringy ? field.length * 3 : 0,
    calculated: field.calculated,
    calculatedFormula: null,
    cascadeDelete: false,
    caseSensitive: false,
    compoundFieldName: field.compoundFieldName,
    controllerName: field.controllerName,
    createable: field.createable,
    custom: field.custom,
    defaultValue: field.defaultValue,
    defaultValueFormula: null,
    defaultedOnCreate: field.defaultedOnCreate,
    dependentPicklist: field.dependentPicklist,
    deprecatedAndHidden: false,
    digits: field.digits,
    displayLocationInDecimal: field.type === 'location',
    encrypted: false,
    externalId: field.externalId,
    extraTypeInfo: field.type === 'textarea' ? 'plaintextarea' : field.type === 'url' ? null : null,
    filterable,
    filteredLookupInfo: null,
    formulaTreatNullNumberAsZero: false,
    groupable: filterable && field.type !== 'double',
    highScaleNumber: false,
    htmlFormatted: false,
    idLookup: field.idLookup,
    inlineHelpText: null,
    label: field.label,
    length: field.length,
    mask: null,
    maskType: null,
    name: field.name,
    nameField: field.nameField,
    namePointing: false,
    nillable: field.nillable,
    permissionable: field.nillable && !field.system,
    picklistValues: field.picklistValues,
    polymorphicForeignKey: false,
    precision: field.precision,
    queryByDistance: false,
    referenceTargetField: null,
    referenceTo: field.referenceTo,
    relationshipName: field.relationshipName,
    relationshipOrder: null,
    restrictedDelete: false,
    restrictedPicklist: field.restrictedPicklist,
    scale: field.scale,
    searchPrefilterable: false,
    soapType: SOAP_TYPE[field.type],
    sortable: filterable,
    type: field.type,
    unique: field.unique,
    updateable: field.updateable,
    writeRequiresMasterRead: false,
  };
}

/** Salesforce names child relationships after the child's API name (Contacts, OrderItems), not its label. */
export function childRelationshipName(child: SfObject): string {
  if (child.custom) return `${child.name.replace(/__c$/, '')}s__r`;
  return child.name === 'Opportunity' ? 'Opportunities' : `${child.name}s`;
}

/** The child object and lookup field behind `parent`'s child relationship `name` (e.g. Account → Contacts). */
export function findChildRelationship(
  catalog: Map<string, SfObject>,
  parent: SfObject,
  name: string,
): { child: SfObject; field: SfField; name: string } | undefined {
  for (const child of catalog.values()) {
    const relName = childRelationshipName(child);
    if (relName.toLowerCase() !== name.toLowerCase()) continue;
    const field = child.fields.find(
      (f) => f.type === 'reference' && f.referenceTo.includes(parent.name) && !f.system && f.name !== 'OwnerId',
    );
    if (field) return { child, field, name: relName };
  }
  return undefined;
}

export function describeObject(
  catalog: Map<string, SfObject>,
  object: SfObject,
  version: string,
): Record<string, unknown> {
  const childRelationships: Record<string, unknown>[] = [];
  for (const child of catalog.values()) {
    for (const f of child.fields) {
      if (f.type === 'reference' && f.referenceTo.includes(object.name) && !f.system && f.name !== 'OwnerId') {
        const plural = childRelationshipName(child);
        childRelationships.push({
          cascadeDelete: false,
          childSObject: child.name,
          deprecatedAndHidden: false,
          field: f.name,
          junctionIdListNames: [],
          junctionReferenceTo: [],
          relationshipName: plural,
          restrictedDelete: false,
        });
      }
    }
  }
  return {
    ...objectSummary(object, version),
    actionOverrides: [],
    childRelationships,
    compactLayoutable: true,
    fields: object.fields.map(describeField),
    listviewable: null,
    lookupLayoutable: null,
    namedLayoutInfos: [],
    networkScopeFieldName: null,
    recordTypeInfos: [
      {
        active: true,
        available: true,
        defaultRecordTypeMapping: true,
        developerName: 'Master',
        master: true,
        name: 'Master',
        recordTypeId: '012000000000000AAA',
        urls: { layout: `/services/data/v${version}/sobjects/${object.name}/describe/layouts/012000000000000AAA` },
      },
    ],
    searchLayoutable: true,
    supportedScopes: [{ label: 'All', name: 'everything' }],
  };
}

export function basicInfo(object: SfObject, version: string): Record<string, unknown> {
  return { objectDescribe: objectSummary(object, version), recentItems: [] };
}
