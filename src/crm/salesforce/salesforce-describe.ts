import { LiaisonError } from '../../core/errors.js';
import type { FieldMetadata, FieldType, ObjectMetadata, ObjectSummary, PicklistValue } from '../metadata.js';

/**
 * Maps Salesforce describe answers (describeGlobal, sObject describe) into the neutral metadata model. Wire shapes
 * are read defensively (`unknown` narrowed field by field) because a describe carries dozens of properties we ignore.
 */

export const MODSTAMP_FIELD = 'SystemModstamp';

type Json = Record<string, unknown>;

function obj(value: unknown, what: string): Json {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw new LiaisonError('crm_error', `unexpected ${what} answer from Salesforce: not an object`);
  }
  return value as Json;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const bool = (v: unknown): boolean => v === true;
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** One entry of describeGlobal, plus the key prefix (used to name the target of polymorphic references). */
export interface GlobalEntry extends ObjectSummary {
  keyPrefix?: string;
}

export function mapGlobal(raw: unknown): GlobalEntry[] {
  const sobjects = obj(raw, 'describeGlobal').sobjects;
  if (!Array.isArray(sobjects))
    throw new LiaisonError('crm_error', 'unexpected describeGlobal answer from Salesforce: no sobjects list');
  return sobjects.map((entry) => {
    const o = obj(entry, 'describeGlobal entry');
    return { ...summary(o), ...(str(o.keyPrefix) ? { keyPrefix: str(o.keyPrefix) } : {}) };
  });
}

function summary(o: Json): ObjectSummary {
  const name = str(o.name);
  if (!name)
    throw new LiaisonError('crm_error', 'unexpected describe answer from Salesforce: an object without a name');
  const labelPlural = str(o.labelPlural);
  return {
    name,
    label: str(o.label) ?? name,
    ...(labelPlural ? { labelPlural } : {}),
    custom: bool(o.custom),
    queryable: bool(o.queryable),
    createable: bool(o.createable),
    updateable: bool(o.updateable),
    deletable: bool(o.deletable),
  };
}

const SIMPLE_TYPES: Record<string, FieldType> = {
  id: 'id',
  string: 'string',
  textarea: 'text',
  email: 'email',
  phone: 'phone',
  url: 'url',
  boolean: 'boolean',
  int: 'integer',
  long: 'bigint',
  double: 'double',
  currency: 'decimal',
  percent: 'decimal',
  date: 'date',
  datetime: 'datetime',
  time: 'time',
  picklist: 'picklist',
  multipicklist: 'multipicklist',
  // A combobox is a picklist that also takes free text: the values are still the useful part.
  combobox: 'picklist',
  reference: 'reference',
  address: 'address',
  location: 'location',
  encryptedstring: 'string',
};

export function mapFieldType(crmType: string, scale?: number): FieldType {
  if (crmType === 'double' && scale !== undefined && scale > 0) return 'decimal';
  return SIMPLE_TYPES[crmType] ?? 'unsupported';
}

/**
 * Decodes a dependent picklist's `validFor`: a base64 bitset where bit i (most significant bit first in each byte)
 * says the value is valid for the controller's i-th value.
 */
export function decodeValidFor(validFor: string, controllerValues: string[]): string[] {
  const bytes = Buffer.from(validFor, 'base64');
  const out: string[] = [];
  controllerValues.forEach((value, i) => {
    const byte = bytes[i >> 3];
    if (byte !== undefined && (byte & (0x80 >> (i % 8))) !== 0) out.push(value);
  });
  return out;
}

function picklistOf(f: Json, controller: Json | undefined): FieldMetadata['picklist'] {
  const entries = Array.isArray(f.picklistValues) ? f.picklistValues.map((e) => obj(e, 'picklist value')) : [];
  let controllerValues: string[] = [];
  if (controller) {
    // A checkbox controller has two positions: unchecked (0) and checked (1).
    controllerValues =
      controller.type === 'boolean'
        ? ['false', 'true']
        : (Array.isArray(controller.picklistValues) ? controller.picklistValues : []).map(
            (e) => str(obj(e, 'picklist value').value) ?? '',
          );
  }
  const values: PicklistValue[] = entries.map((e) => {
    const value = str(e.value) ?? '';
    const validFor = str(e.validFor);
    return {
      value,
      label: str(e.label) ?? value,
      active: e.active !== false,
      isDefault: bool(e.defaultValue),
      ...(validFor && controller ? { validFor: decodeValidFor(validFor, controllerValues) } : {}),
    };
  });
  const controllerName = str(f.controllerName);
  return { values, restricted: bool(f.restrictedPicklist), ...(controllerName ? { controllerName } : {}) };
}

function mapField(f: Json, byName: Map<string, Json>): FieldMetadata {
  const name = str(f.name) ?? '';
  const crmType = str(f.type) ?? 'unknown';
  const scale = num(f.scale);
  const type = mapFieldType(crmType, scale);
  const field: FieldMetadata = {
    name,
    label: str(f.label) ?? name,
    type,
    crmType,
    nillable: bool(f.nillable),
    createable: bool(f.createable),
    updateable: bool(f.updateable),
  };
  const length = num(f.length);
  if (
    length &&
    ['string', 'text', 'email', 'phone', 'url', 'picklist', 'multipicklist', 'id', 'reference'].includes(type)
  )
    field.length = length;
  if (type === 'decimal' || type === 'double') {
    const precision = num(f.precision);
    if (precision) field.precision = precision;
    if (scale !== undefined) field.scale = scale;
  }
  if (type === 'integer') {
    const digits = num(f.digits);
    if (digits) field.precision = digits;
  }
  if (bool(f.externalId)) field.externalId = true;
  if (bool(f.unique)) field.unique = true;
  if (type === 'reference') {
    const targets = Array.isArray(f.referenceTo) ? f.referenceTo.filter((t): t is string => typeof t === 'string') : [];
    field.referenceTo = targets;
    const relationshipName = str(f.relationshipName);
    if (relationshipName) field.relationshipName = relationshipName;
  }
  if (type === 'picklist' || type === 'multipicklist') {
    const controllerName = str(f.controllerName);
    field.picklist = picklistOf(f, controllerName ? byName.get(controllerName.toLowerCase()) : undefined);
  }
  const compound = str(f.compoundFieldName);
  if (compound) field.compoundFieldName = compound;
  if (name === MODSTAMP_FIELD) field.isModstamp = true;
  return field;
}

export function mapDescribe(raw: unknown): ObjectMetadata {
  const o = obj(raw, 'describe');
  const rawFields = Array.isArray(o.fields) ? o.fields.map((f) => obj(f, 'describe field')) : [];
  const byName = new Map(rawFields.map((f) => [(str(f.name) ?? '').toLowerCase(), f]));
  const fields = rawFields.map((f) => mapField(f, byName));
  const nameField = rawFields.find((f) => bool(f.nameField));
  const nameFieldName = nameField ? str(nameField.name) : undefined;
  return {
    ...summary(o),
    idField: 'Id',
    ...(nameFieldName ? { nameField: nameFieldName } : {}),
    modstampField: MODSTAMP_FIELD,
    fields,
  };
}

/** Case-insensitive field lookup on mapped metadata. */
export function findField(meta: ObjectMetadata, name: string): FieldMetadata | undefined {
  const lower = name.toLowerCase();
  return meta.fields.find((f) => f.name.toLowerCase() === lower);
}
