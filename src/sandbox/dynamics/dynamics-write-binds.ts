import { DataverseError, odataError } from './dynamics-http.js';
import { findRow, parseKey } from './dynamics-router.js';
import type { AttributeDef, EntityDef } from './dynamics-schema-types.js';
import type { DynamicsStore } from './dynamics-store.js';
import { isLookup } from './dynamics-values.js';

/**
 * Resolves `nav@odata.bind` values. Single-target lookups bind through their navigation property (the schema
 * name, e.g. `primarycontactid` or `lia_ContactId`); multi-target ones (Customer, Owner) through
 * `<column>_<target>` (e.g. `parentcustomerid_account`); `ownerid` also accepts any owner entity set.
 */
export interface BoundLookup {
  attribute: AttributeDef;
  id: string | null;
  target: string | null;
}

function findNavigation(entity: EntityDef, nav: string): { attribute: AttributeDef; target?: string } | undefined {
  const lower = nav.toLowerCase();
  for (const a of entity.attributes) {
    if (!isLookup(a)) continue;
    const targets = a.targets ?? [];
    if (targets.length > 1) {
      for (const t of targets) if (lower === `${a.logicalName}_${t}`) return { attribute: a, target: t };
      if (a.type === 'Owner' && lower === a.logicalName) return { attribute: a };
    } else if (lower === a.schemaName.toLowerCase() || lower === a.logicalName) {
      return { attribute: a, target: targets[0] };
    }
  }
  return undefined;
}

export function resolveBind(store: DynamicsStore, entity: EntityDef, nav: string, value: unknown): BoundLookup {
  const found = findNavigation(entity, nav);
  if (!found) {
    throw odataError(
      `An undeclared property '${nav}' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.`,
    );
  }
  if (value === null) return { attribute: found.attribute, id: null, target: null };
  if (typeof value !== 'string') throw odataError(`The value of '${nav}@odata.bind' must be a string URL.`);
  const m = /(?:^|\/)([A-Za-z_]\w*)\(([^()]*(?:'[^']*'[^()]*)*)\)$/.exec(value.trim());
  if (!m) throw odataError(`The URL '${value}' in '${nav}@odata.bind' is not valid. Use "/entityset(id)".`);
  const targetEntity = store.entityBySet(m[1]!);
  if (!targetEntity) throw odataError(`Resource not found for the segment '${m[1]}'.`, 404);
  if (found.target && targetEntity.logicalName !== found.target) {
    throw odataError(
      `The entity set '${m[1]}' does not match navigation property '${nav}', which expects '${found.target}'.`,
    );
  }
  if (!(found.attribute.targets ?? []).includes(targetEntity.logicalName)) {
    throw odataError(`'${targetEntity.logicalName}' is not a valid target for '${found.attribute.logicalName}'.`);
  }
  const row = findRow({ store }, targetEntity, parseKey(targetEntity, m[2]!));
  if (!row) throw new DataverseError(404, '0x80040217', `${targetEntity.logicalName} With Id = ${m[2]} Does Not Exist`);
  return {
    attribute: found.attribute,
    id: String(row[targetEntity.primaryIdAttribute]),
    target: targetEntity.logicalName,
  };
}
