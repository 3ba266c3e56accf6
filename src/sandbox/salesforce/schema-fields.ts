import type { SfField, SfFieldType, SfPicklistEntry } from './schema-types.js';

/**
 * Field builders with Salesforce's per-type defaults (lengths, precision, flags), plus the recurring field groups:
 * audit fields, compound addresses and geolocations.
 */
export type FieldOptions = Partial<Omit<SfField, 'name' | 'type' | 'picklistValues'>> & {
  picklist?: (string | [string, boolean])[];
};

const TEXT_LENGTH: Partial<Record<SfFieldType, number>> = {
  id: 18,
  reference: 18,
  string: 255,
  textarea: 32000,
  email: 80,
  phone: 40,
  url: 255,
  picklist: 255,
  multipicklist: 4099,
};

export function picklistEntries(values: (string | [string, boolean])[]): SfPicklistEntry[] {
  return values.map((v) => {
    const [value, isDefault] = typeof v === 'string' ? [v, false] : v;
    return { value, label: value, active: true, defaultValue: isDefault, validFor: null };
  });
}

export function labelOf(name: string): string {
  const base = name
    .replace(/__c$|__s$/, '')
    .replace(/Id$/, '')
    .replace(/_/g, ' ');
  return base.replace(/([a-z])([A-Z])/g, '$1 $2');
}

/** Builds a field with Salesforce's defaults for its type; `options` overrides them. */
export function makeField(name: string, type: SfFieldType, options: FieldOptions = {}): SfField {
  const custom = name.endsWith('__c');
  const numeric = type === 'double' || type === 'currency' || type === 'percent';
  const { picklist, ...rest } = options;
  return {
    name,
    label: labelOf(name),
    type,
    length: TEXT_LENGTH[type] ?? 0,
    precision: numeric ? 18 : 0,
    scale: numeric ? 2 : 0,
    digits: type === 'int' ? 9 : 0,
    nillable: type !== 'boolean' && type !== 'id',
    createable: type !== 'id',
    updateable: type !== 'id',
    defaultedOnCreate: type === 'boolean' || type === 'id',
    externalId: false,
    unique: false,
    idLookup: type === 'id',
    nameField: false,
    referenceTo: [],
    relationshipName: null,
    restrictedPicklist: false,
    dependentPicklist: false,
    controllerName: null,
    compoundFieldName: null,
    calculated: false,
    custom,
    defaultValue: type === 'boolean' ? false : null,
    stored: type !== 'address' && type !== 'location',
    system: false,
    ...rest,
    picklistValues: picklist ? picklistEntries(picklist) : [],
  };
}

export const ro = { createable: false, updateable: false, system: true };

export function systemFields(withOwner: boolean): SfField[] {
  const fields = [
    makeField('Id', 'id', { label: 'Record ID', ...ro, defaultedOnCreate: true }),
    makeField('IsDeleted', 'boolean', { label: 'Deleted', ...ro }),
    makeField('CreatedDate', 'datetime', { ...ro, nillable: false, defaultedOnCreate: true }),
    makeField('CreatedById', 'reference', {
      label: 'Created By ID',
      ...ro,
      nillable: false,
      defaultedOnCreate: true,
      referenceTo: ['User'],
      relationshipName: 'CreatedBy',
    }),
    makeField('LastModifiedDate', 'datetime', { ...ro, nillable: false, defaultedOnCreate: true }),
    makeField('LastModifiedById', 'reference', {
      label: 'Last Modified By ID',
      ...ro,
      nillable: false,
      defaultedOnCreate: true,
      referenceTo: ['User'],
      relationshipName: 'LastModifiedBy',
    }),
    makeField('SystemModstamp', 'datetime', {
      label: 'System Modstamp',
      ...ro,
      nillable: false,
      defaultedOnCreate: true,
    }),
  ];
  if (withOwner) {
    fields.push(
      makeField('OwnerId', 'reference', {
        label: 'Owner ID',
        nillable: false,
        defaultedOnCreate: true,
        referenceTo: ['User'],
        relationshipName: 'Owner',
      }),
    );
  }
  return fields;
}

export function address(prefix: string): SfField[] {
  const compound = `${prefix}Address`;
  const part = (suffix: string, type: SfFieldType, options: FieldOptions = {}) =>
    makeField(`${prefix}${suffix}`, type, {
      label: `${prefix} ${suffix.replace('PostalCode', 'Zip/Postal Code')}`,
      compoundFieldName: compound,
      ...options,
    });
  return [
    part('Street', 'textarea', { length: 255 }),
    part('City', 'string', { length: 40 }),
    part('State', 'string', { length: 80 }),
    part('PostalCode', 'string', { length: 20 }),
    part('Country', 'string', { length: 80 }),
    part('Latitude', 'double', { precision: 18, scale: 15 }),
    part('Longitude', 'double', { precision: 18, scale: 15 }),
    makeField(compound, 'address', { label: `${prefix} Address`, createable: false, updateable: false }),
  ];
}

export function location(name: string): SfField[] {
  const base = name.replace(/__c$/, '');
  return [
    makeField(name, 'location', { label: labelOf(name), createable: false, updateable: false }),
    makeField(`${base}__Latitude__s`, 'double', {
      label: `${labelOf(name)} (Latitude)`,
      precision: 18,
      scale: 15,
      compoundFieldName: name,
      custom: true,
    }),
    makeField(`${base}__Longitude__s`, 'double', {
      label: `${labelOf(name)} (Longitude)`,
      precision: 18,
      scale: 15,
      compoundFieldName: name,
      custom: true,
    }),
  ];
}

export function ref(name: string, target: string, relationshipName: string, options: FieldOptions = {}): SfField {
  return makeField(name, 'reference', { referenceTo: [target], relationshipName, ...options });
}
