import { stableGuid } from './dynamics-ids.js';
import { attr, options as optionSet } from './dynamics-schema-builders.js';
import type { AttributeDef, AttributeType, EntityDef, RequiredLevel } from './dynamics-schema-types.js';
import type { DynamicsStore } from './dynamics-store.js';

/**
 * Schema changes through the admin API (to test drift detection): add, change or remove a column, add a choice.
 * Definitions are Dataverse-shaped: `{ name: 'lia_nickname', type: 'String', length: 40, label: 'Nickname' }`,
 * `{ name: 'lia_size', type: 'Picklist', options: [{ value: '100000000', label: 'S' }] }`.
 */

const TYPES: AttributeType[] = [
  'String',
  'Memo',
  'Integer',
  'BigInt',
  'Decimal',
  'Double',
  'Money',
  'Boolean',
  'DateTime',
  'Picklist',
  'MultiSelectPicklist',
  'Lookup',
  'Uniqueidentifier',
];

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number'
    ? v
    : typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))
      ? Number(v)
      : undefined;
}

function field(entity: EntityDef, name: string): AttributeDef {
  const a = entity.attributes.find((x) => x.logicalName === name);
  if (!a) throw new Error(`table '${entity.logicalName}' has no column '${name}'`);
  return a;
}

export function addField(store: DynamicsStore, entity: EntityDef, def: Record<string, unknown>): void {
  const name = (str(def.name) ?? str(def.logicalName) ?? '').toLowerCase();
  if (!/^[a-z][a-z0-9_]{1,49}$/.test(name)) throw new Error(`invalid column name '${name}'`);
  if (entity.attributes.some((a) => a.logicalName === name))
    throw new Error(`column '${name}' already exists on '${entity.logicalName}'`);
  const rawType = str(def.type) ?? 'String';
  const type = TYPES.find((t) => t.toLowerCase() === rawType.toLowerCase());
  if (!type) throw new Error(`unsupported column type '${rawType}' (use one of ${TYPES.join(', ')})`);
  const values = Array.isArray(def.options) ? def.options : Array.isArray(def.picklistValues) ? def.picklistValues : [];
  const opts = values.map((o: unknown, i: number) => {
    const rec = (typeof o === 'object' && o !== null ? o : { value: o }) as Record<string, unknown>;
    const value = num(rec.value) ?? 100000000 + i;
    return [value, str(rec.label) ?? String(rec.value ?? value)] as [number, string];
  });
  const maxLength = num(def.length) ?? num(def.maxLength);
  const precision = num(def.precision) ?? num(def.scale);
  const a = attr(entity.logicalName, name, type, {
    displayName: str(def.label) ?? str(def.displayName) ?? name,
    required: (str(def.required) as RequiredLevel | undefined) ?? 'None',
    ...(type === 'String' || type === 'Memo' ? { maxLength: maxLength ?? (type === 'String' ? 100 : 2000) } : {}),
    ...(precision !== undefined ? { precision } : type === 'Decimal' || type === 'Money' ? { precision: 2 } : {}),
    ...(num(def.minValue) !== undefined ? { minValue: num(def.minValue) } : {}),
    ...(num(def.maxValue) !== undefined ? { maxValue: num(def.maxValue) } : {}),
    ...(type === 'DateTime'
      ? {
          dateBehavior: (str(def.dateBehavior) as AttributeDef['dateBehavior']) ?? 'UserLocal',
          format: str(def.dateBehavior) === 'DateOnly' ? 'DateOnly' : 'DateAndTime',
        }
      : {}),
    ...(type === 'Lookup' ? { targets: Array.isArray(def.targets) ? def.targets.map(String) : ['contact'] } : {}),
    ...(type === 'Picklist' || type === 'MultiSelectPicklist'
      ? { optionSet: optionSet(`${entity.logicalName}_${name}`, false, opts) }
      : {}),
    ...(type === 'Boolean' ? { trueLabel: 'Yes', falseLabel: 'No' } : {}),
  });
  store.addColumn(entity, a);
  entity.attributes.push(a);
}

export function removeField(store: DynamicsStore, entity: EntityDef, name: string): void {
  const a = field(entity, name);
  if (a.isPrimaryId || a.isPrimaryName || ['createdon', 'modifiedon', 'versionnumber'].includes(a.logicalName))
    throw new Error(`column '${name}' cannot be removed`);
  if (entity.keys.some((k) => k.attributes.includes(name)))
    throw new Error(`column '${name}' is part of an alternate key`);
  store.dropColumn(entity, name);
  entity.attributes.splice(entity.attributes.indexOf(a), 1);
}

export function changeField(entity: EntityDef, name: string, patch: Record<string, unknown>): void {
  const a = field(entity, name);
  const length = num(patch.length) ?? num(patch.maxLength);
  if (length !== undefined) a.maxLength = length;
  const precision = num(patch.precision) ?? num(patch.scale);
  if (precision !== undefined) a.precision = precision;
  if (str(patch.label) ?? str(patch.displayName)) a.displayName = (str(patch.label) ?? str(patch.displayName))!;
  if (str(patch.required)) a.required = str(patch.required) as RequiredLevel;
  if (num(patch.minValue) !== undefined) a.minValue = num(patch.minValue);
  if (num(patch.maxValue) !== undefined) a.maxValue = num(patch.maxValue);
  a.metadataId = a.metadataId || stableGuid('attribute', entity.logicalName, name);
}

export function addPicklistValue(
  entity: EntityDef,
  name: string,
  value: { value: string; label?: string; active?: boolean },
): void {
  const a = field(entity, name);
  if (!a.optionSet) throw new Error(`column '${name}' is not a choice column`);
  const n = Number(value.value);
  if (!Number.isInteger(n)) throw new Error(`option value '${value.value}' is not an integer`);
  if (a.optionSet.options.some((o) => o.value === n)) throw new Error(`option ${n} already exists on '${name}'`);
  a.optionSet.options.push({ value: n, label: value.label ?? value.value });
}
