import { writeFileSync } from 'node:fs';
import { z } from 'zod';

/**
 * The workflow file format, as zod schemas: the loader validates each part with these, and
 * schemas/workflow.schema.json is generated from `workflowSchema` (a test checks the committed file is current).
 */
const activityName = z
  .string()
  .regex(
    /^[A-Za-z][A-Za-z0-9_-]{0,62}$/,
    'activity names start with a letter and use letters, digits, _ or - (at most 63)',
  );
const column = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'column and table names are plain identifiers (letters, digits, _)');
const orderItem = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}( +(asc|desc))?$/i, 'order items look like "column" or "column desc"');
const transitions = z
  .record(z.string(), z.union([activityName, z.array(activityName).min(1)]))
  .optional()
  .describe('transition name (ok, rejects, …) → the activity or activities that receive its working set');

const base = {
  name: activityName,
  description: z.string().optional(),
  transitions,
};

export const queryActivity = z.strictObject({
  ...base,
  type: z.literal('query'),
  table: column.describe('local table to read'),
  filter: z.string().optional().describe("filter text, e.g. country = 'FR' and created_at >= ${vars.since}"),
  fields: z.array(column).min(1).optional().describe('columns to keep (default: all)'),
  orderBy: z.array(orderItem).optional(),
  limit: z.number().int().positive().optional(),
});

export const enrichmentActivity = z.strictObject({
  ...base,
  type: z.literal('enrichment'),
  table: column.describe('local table joined to the working set'),
  on: z.record(column, column).describe('working-set column → table column; all must match'),
  fields: z.record(column, column).describe('new working-set column → table column it is read from'),
  join: z
    .enum(['left', 'inner'])
    .optional()
    .describe('left (default) keeps unmatched records with nulls; inner sends them to "unmatched"'),
});

export const updateDataActivity = z.strictObject({
  ...base,
  type: z.literal('update-data'),
  table: column.describe('local table written to'),
  operation: z.enum(['insert', 'update', 'insert-or-update', 'delete', 'mark-deleted']),
  keys: z.array(column).min(1).optional().describe('table columns that reconcile records (required except for insert)'),
  mapping: z
    .record(column, column)
    .optional()
    .describe('table column → working-set column (default: same-named columns)'),
  origin: z
    .enum(['crm', 'local'])
    .optional()
    .describe(
      'local (default) stamps modified_locally_at; crm (an import) must not, so the two-way sync does not echo it back',
    ),
  markDeleted: z
    .strictObject({ column, value: z.union([z.string(), z.number(), z.boolean()]).optional() })
    .optional()
    .describe('mark-deleted: the column set (to value, default the current time)'),
});

export const deduplicationActivity = z.strictObject({
  ...base,
  type: z.literal('deduplication'),
  keys: z.array(column).min(1),
  keep: z.enum(['first', 'last']).optional().describe('which record of each group to keep (default first)'),
  orderBy: column.optional().describe('column that orders each group (default: arrival order)'),
});

export const unionActivity = z.strictObject({ ...base, type: z.literal('union') });
export const endActivity = z.strictObject({ ...base, type: z.literal('end') });

const conversion = z
  .enum(['default', 'date-only', 'no-time-offset', 'raw', 'trim', 'lower', 'upper', 'enum', 'set'])
  .describe('how the CRM value is converted (see src/sync/conversions.ts)');
const connectorField = z.strictObject({
  crm: z.string().min(1).describe('CRM field (API/logical name)'),
  column: column.optional().describe('local column (default: the schema column of that CRM field)'),
  conversion: conversion.optional(),
});
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2}))?$/, 'dates look like 2024-01-15 or 2024-01-15T10:00:00Z');

/** Shape of the CRM connector activity; its handler lives in src/sync and is registered there. */
export const crmConnectorActivity = z.strictObject({
  ...base,
  type: z.literal('crm-connector'),
  account: z.string().min(1).describe('external account name'),
  object: z.string().min(1).describe('schema name of the generated CRM table (e.g. crm:sfdcContact)'),
  operation: z.enum(['import', 'import-deleted', 'export', 'delete']),
  fields: z
    .array(connectorField)
    .optional()
    .describe('import: the CRM fields to read (default: every column of the schema)'),
  filter: z
    .string()
    .optional()
    .describe("import: which records, in Liaison's filter syntax on CRM fields or schema columns"),
  population: column.optional().describe('import: read only the CRM ids found in this column of the input working set'),
  orderBy: z.array(z.string().min(1)).optional().describe('import: "Field" or "Field desc"'),
  allRecords: z.boolean().optional().describe('import: deleted, archived and merged records too (Salesforce queryAll)'),
  pageSize: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('import: records per page asked of the CRM (clamped to its bounds)'),
  incremental: z
    .union([
      z.boolean(),
      z.strictObject({
        field: z.string().min(1).optional(),
        lookbackSeconds: z.number().int().nonnegative().optional(),
      }),
    ])
    .optional()
    .describe('import: only records modified since the last successful run (watermark kept per workflow + activity)'),
  since: isoDate.optional().describe('import-deleted: window start (default: the watermark, else 30 days ago)'),
  until: isoDate.optional().describe('import-deleted: window end (default: now)'),
  onError: z
    .enum(['stop', 'ignore', 'suspend'])
    .optional()
    .describe(
      'stop (default) fails the run; ignore sends the error to the "error" transition; suspend fails the run for a later --resume',
    ),
  rejectsFile: z.string().optional().describe('also write rejects to this CSV file'),
  mapping: z.record(z.string(), z.string()).optional().describe('export: CRM field → working-set column'),
  mode: z
    .enum(['insert', 'update', 'insert-or-update', 'upsert'])
    .optional()
    .describe('export mode (default insert-or-update)'),
  externalIdField: z.string().optional().describe('export upsert: the external-id field / alternate key'),
  idColumn: column
    .optional()
    .describe('export/delete: working-set column holding the CRM id (default: the CRM id column of the schema)'),
  matchKey: z
    .string()
    .optional()
    .describe('export: CRM field used to find records a crashed run may already have created'),
  batchSize: z
    .number()
    .int()
    .positive()
    .optional()
    .describe('export/delete: records per call (clamped to the CRM limit)'),
  bulk: z
    .enum(['auto', 'always', 'never'])
    .optional()
    .describe('export: Bulk API when the CRM has one (auto: for large sets)'),
  assignmentRules: z.boolean().optional().describe('export insert: apply Salesforce assignment rules'),
  key: column
    .optional()
    .describe('export/delete: working-set column identifying each local record (default: id, else the CRM id column)'),
  writeBack: z
    .strictObject({
      table: column.describe('local table the exported records come from (e.g. recipient)'),
      key: column.describe('column of that table matching the working-set key column'),
      crmId: column.optional().describe('column receiving the CRM id of created records (e.g. salesforce_id)'),
      clear: column
        .optional()
        .describe(
          'column set to null once the record is in the CRM (e.g. modified_locally_at), if not changed since the export started',
        ),
    })
    .optional()
    .describe('export: write results back to the local records'),
});

export const activitySchemas = {
  query: queryActivity,
  enrichment: enrichmentActivity,
  'update-data': updateDataActivity,
  deduplication: deduplicationActivity,
  union: unionActivity,
  end: endActivity,
  'crm-connector': crmConnectorActivity,
} as const;

export type ActivityType = keyof typeof activitySchemas;
export const activityTypes = Object.keys(activitySchemas) as ActivityType[];

export const activitySchema = z.discriminatedUnion('type', [
  queryActivity,
  enrichmentActivity,
  updateDataActivity,
  deduplicationActivity,
  unionActivity,
  endActivity,
  crmConnectorActivity,
]);

export const workflowHeader = z.strictObject({
  name: activityName.describe('workflow name (run history and watermarks are keyed by it)'),
  description: z.string().optional(),
  schedule: z.string().optional().describe('cron expression (5 or 6 fields) for `liaison workflow schedule`'),
  activities: z.array(z.unknown()).min(1),
});

export const workflowSchema = workflowHeader.extend({ activities: z.array(activitySchema).min(1) });

export type QueryConfig = z.infer<typeof queryActivity>;
export type EnrichmentConfig = z.infer<typeof enrichmentActivity>;
export type UpdateDataConfig = z.infer<typeof updateDataActivity>;
export type DeduplicationConfig = z.infer<typeof deduplicationActivity>;
export type UnionConfig = z.infer<typeof unionActivity>;
export type EndConfig = z.infer<typeof endActivity>;
export type CrmConnectorConfig = z.infer<typeof crmConnectorActivity>;
export type ActivityConfig = z.infer<typeof activitySchema>;
export type WorkflowDefinition = z.infer<typeof workflowSchema>;

/** Transitions each activity type may emit. */
export const allowedTransitions: Record<ActivityType, readonly string[]> = {
  query: ['ok'],
  enrichment: ['ok', 'unmatched'],
  'update-data': ['ok', 'rejects'],
  deduplication: ['ok', 'duplicates'],
  union: ['ok'],
  end: [],
  'crm-connector': ['ok', 'rejects', 'error'],
};

/** How many input working sets an activity takes. */
export function inputArity(config: ActivityConfig): 'none' | 'one' | 'many' {
  switch (config.type) {
    case 'query':
      return 'none';
    case 'union':
      return 'many';
    case 'crm-connector':
      if (config.operation === 'import-deleted') return 'none';
      return config.operation === 'import' && config.population === undefined ? 'none' : 'one';
    default:
      return 'one';
  }
}

/** The JSON Schema published as schemas/workflow.schema.json. */
export function workflowJsonSchema(): Record<string, unknown> {
  return {
    $id: 'https://github.com/liaison/liaison/schemas/workflow.schema.json',
    title: 'Liaison workflow',
    ...(z.toJSONSchema(workflowSchema, { io: 'input' }) as Record<string, unknown>),
  };
}

/** Targets of a transition value, always as a list. */
export function targetsOf(value: string | string[]): string[] {
  return typeof value === 'string' ? [value] : value;
}

/** Writes the published JSON Schema (run after changing these schemas; a test compares the committed file). */
export function writeWorkflowJsonSchema(file = 'schemas/workflow.schema.json'): void {
  writeFileSync(file, JSON.stringify(workflowJsonSchema(), null, 2) + '\n');
}
