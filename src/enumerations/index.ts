export { syncEnumerations, type EnumSyncRequest, type EnumSyncItem } from './enum-sync.js';
export { listEnumerations, findEnumeration, getEnumeration } from './enum-store.js';
export type { Enumeration, EnumValue, EnumValueType } from './enum-types.js';
export {
  toStoredMultiSelect,
  fromStoredMultiSelect,
  toCrmMultiSelect,
  fromCrmMultiSelect,
  multiSelectContains,
} from './multi-select.js';
