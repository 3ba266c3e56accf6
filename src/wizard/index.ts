export { listSchemas, getSchema, findSchema, listAccountSchemas } from './schema-registry.js';
export type { LocalSchema, LocalColumn, SkippedField } from './schema-types.js';
export {
  planWizard,
  applyWizard,
  runWizard,
  listCrmObjects,
  hasDrift,
  type WizardContext,
  type WizardPlan,
  type WizardRequest,
  type WizardProgress,
} from './wizard-service.js';
export { dropOrphans } from './schema-maintenance.js';
export { describeChange, type SchemaChange, type SchemaPlan } from './schema-drift.js';
export { recordToRow, rowToValues } from './schema-rows.js';
