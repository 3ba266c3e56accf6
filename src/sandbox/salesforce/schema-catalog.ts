import { defineObjects } from './schema-objects.js';
import type { SfObject } from './schema-types.js';

export { makeField, picklistEntries } from './schema-fields.js';

/**
 * validFor of a dependent picklist entry: a base64 bitset over the controlling field's values, bit i (most
 * significant first within each byte) set when the entry is valid for controller value i.
 */
export function validForBits(indexes: number[], controllerValues: number): string {
  const bytes = new Uint8Array(Math.max(3, Math.ceil(controllerValues / 8)));
  for (const i of indexes) bytes[i >> 3] = (bytes[i >> 3] ?? 0) | (0x80 >> (i % 8));
  return Buffer.from(bytes).toString('base64');
}

/** Fills validFor of the dependent picklists (which controller values each entry is valid for). */
function linkDependentPicklists(object: SfObject): void {
  const validity: Record<string, number[]> = {
    'Free shipping': [1, 2, 3],
    'Lounge access': [3],
    'Birthday gift': [0, 1, 2, 3],
  };
  for (const field of object.fields) {
    if (!field.dependentPicklist || !field.controllerName) continue;
    const controller = object.fields.find((f) => f.name === field.controllerName);
    for (const entry of field.picklistValues) {
      entry.validFor = validForBits(validity[entry.value] ?? [], controller?.picklistValues.length ?? 0);
    }
  }
}

export function indexObject(object: SfObject): void {
  object.byName = new Map(object.fields.map((f) => [f.name.toLowerCase(), f]));
  object.byRelationship = new Map(
    object.fields
      .filter((f) => f.type === 'reference' && f.relationshipName)
      .map((f) => [String(f.relationshipName).toLowerCase(), f]),
  );
  object.version++;
  object.modifiedAt = Date.now();
}

/** A fresh copy of the catalog: each sandbox owns its metadata, which admin calls may change. */
export function buildCatalog(): Map<string, SfObject> {
  const catalog = new Map<string, SfObject>();
  for (const [name, labelPlural, keyPrefix, fields, custom] of defineObjects()) {
    const object: SfObject = {
      name,
      label: name.endsWith('__c')
        ? name.replace(/__c$/, '').replace(/_/g, ' ')
        : name === 'Product2'
          ? 'Product'
          : name.replace(/([a-z])([A-Z])/g, '$1 $2'),
      labelPlural,
      keyPrefix,
      custom: custom === true,
      fields,
      byName: new Map(),
      byRelationship: new Map(),
      version: 0,
      modifiedAt: 0,
    };
    linkDependentPicklists(object);
    indexObject(object);
    catalog.set(name.toLowerCase(), object);
  }
  return catalog;
}
