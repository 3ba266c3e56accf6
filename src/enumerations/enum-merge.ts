import type { PicklistValue } from '../crm/metadata.js';
import type { EnumValue } from './enum-types.js';

/** What a sync did to one enumeration's values. */
export interface MergeResult {
  values: EnumValue[];
  added: string[];
  /** Values whose label, enabled flag or validFor changed. */
  updated: string[];
  /** Values dropped (only with replace). */
  removed: string[];
  /** CRM values that are inactive (kept, disabled). */
  disabled: string[];
}

function fromCrm(value: PicklistValue): EnumValue {
  return {
    value: value.value,
    label: value.label,
    enabled: value.active,
    source: 'crm',
    ...(value.validFor ? { validFor: [...value.validFor] } : {}),
  };
}

function same(a: EnumValue, b: EnumValue): boolean {
  return (
    a.label === b.label &&
    a.enabled === b.enabled &&
    JSON.stringify(a.validFor ?? null) === JSON.stringify(b.validFor ?? null)
  );
}

/**
 * Merge (default): CRM values are added, existing local values kept in place with the CRM's label, enabled flag and
 * validFor; local-only values stay untouched. Replace: the enumeration becomes exactly the CRM's values, in its order.
 * Inactive CRM values are kept either way, disabled.
 */
export function mergeValues(
  local: readonly EnumValue[],
  crm: readonly PicklistValue[],
  mode: 'merge' | 'replace',
): MergeResult {
  const crmByValue = new Map(crm.map((v) => [v.value, v]));
  const localByValue = new Map(local.map((v) => [v.value, v]));
  const result: MergeResult = {
    values: [],
    added: [],
    updated: [],
    removed: [],
    disabled: crm.filter((v) => !v.active).map((v) => v.value),
  };
  if (mode === 'replace') {
    for (const value of crm) {
      const next = fromCrm(value);
      const previous = localByValue.get(value.value);
      if (!previous) result.added.push(value.value);
      else if (!same(previous, next) || previous.source !== 'crm') result.updated.push(value.value);
      result.values.push(next);
    }
    result.removed = local.filter((v) => !crmByValue.has(v.value)).map((v) => v.value);
    return result;
  }
  for (const previous of local) {
    const value = crmByValue.get(previous.value);
    if (!value) {
      result.values.push(previous);
      continue;
    }
    const next = fromCrm(value);
    if (!same(previous, next) || previous.source !== 'crm') result.updated.push(previous.value);
    result.values.push(next);
  }
  for (const value of crm) {
    if (localByValue.has(value.value)) continue;
    result.added.push(value.value);
    result.values.push(fromCrm(value));
  }
  return result;
}

export function isNoop(result: MergeResult): boolean {
  return result.added.length === 0 && result.updated.length === 0 && result.removed.length === 0;
}
