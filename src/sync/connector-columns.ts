import { LiaisonError } from '../core/errors.js';
import { filterFields } from '../crm/filter.js';
import { parseFilter } from '../crm/filter-parse.js';
import type { LocalColumn, LocalSchema } from '../wizard/schema-types.js';
import type { CrmConnectorConfig } from '../workflow/workflow-schema.js';
import type { ColumnInfo, ColumnKind } from '../workflow/workflow-tables.js';
import type { Conversion } from './conversions.js';

/**
 * What a connector activity reads and produces, derived from its settings and the generated schema. Shared by the
 * activity itself and by workflow validation, so a file is checked against exactly what a run would do.
 */
export interface ImportColumn {
  column: LocalColumn;
  conversion: Conversion;
}

/** The schema column of a field, named by its local column or its CRM field (case-insensitively). */
export function resolveColumn(schema: LocalSchema, name: string): LocalColumn {
  const wanted = name.toLowerCase();
  const column =
    schema.columns.find((c) => c.column === name || c.crmField === name) ??
    schema.columns.find((c) => c.column.toLowerCase() === wanted || c.crmField.toLowerCase() === wanted);
  if (!column || column.orphan) {
    const known = schema.columns.filter((c) => !c.orphan).map((c) => c.crmField);
    throw new LiaisonError(
      'field_not_found',
      `field "${name}" is not in schema "${schema.name}" (${schema.crmObject}); known fields: ${known.slice(0, 25).join(', ')}${known.length > 25 ? ', …' : ''}`,
    );
  }
  return column;
}

/** The working-set column kind that holds a CRM field of this neutral type. */
export function columnKindOf(column: LocalColumn): ColumnKind {
  if (column.multiSelect) return 'text';
  switch (column.type) {
    case 'boolean':
      return 'boolean';
    case 'integer':
    case 'bigint':
      return 'integer';
    case 'decimal':
    case 'double':
      return 'number';
    default:
      return 'text';
  }
}

/** The fields an import reads: the ones the activity names, else every live column; the cursor always. */
export function importColumns(config: CrmConnectorConfig, schema: LocalSchema): ImportColumn[] {
  const chosen: ImportColumn[] = config.fields
    ? config.fields.map((field) => {
        const column = resolveColumn(schema, field.crm);
        const target = field.column ? { ...column, column: field.column } : column;
        return { column: target, conversion: field.conversion ?? (column.multiSelect ? 'set' : 'default') };
      })
    : schema.columns
        .filter((c) => !c.orphan && c.column !== schema.crmIdColumn)
        .map((column) => ({ column, conversion: column.multiSelect ? 'set' : 'default' }));
  const cursor = schema.columns.find((c) => c.column === schema.cursorColumn);
  if (cursor && !chosen.some((c) => c.column.crmField === cursor.crmField))
    chosen.push({ column: cursor, conversion: 'default' });
  return chosen;
}

/** Columns of an import's "ok" working set. */
export function importOutputColumns(schema: LocalSchema, columns: ImportColumn[]): ColumnInfo[] {
  return [
    { name: schema.crmIdColumn, kind: 'text' },
    ...columns
      .filter((c) => c.column.column !== schema.crmIdColumn)
      .map((c) => ({ name: c.column.column, kind: columnKindOf(c.column) })),
    ...columns
      .filter((c) => c.column.targetColumn)
      .map((c) => ({ name: c.column.targetColumn!, kind: 'text' as const })),
  ];
}

/**
 * Checks an activity against its schema and input columns (when known) without running it; returns the columns of
 * its "ok" output (undefined when they depend on the run). Problems are reported through `problem(path, message)`,
 * `path` naming the setting at fault.
 */
export function checkConnector(
  config: CrmConnectorConfig,
  schema: LocalSchema,
  input: readonly ColumnInfo[] | undefined,
  problem: (path: (string | number)[], message: string) => void,
): ColumnInfo[] | undefined {
  if (schema.account !== config.account) {
    problem(
      ['account'],
      `schema "${schema.name}" was generated for account "${schema.account}", not "${config.account}"`,
    );
  }
  const field = (path: (string | number)[], name: string) => {
    try {
      return resolveColumn(schema, name);
    } catch (error) {
      problem(path, (error as Error).message);
      return undefined;
    }
  };
  const inputColumn = (path: (string | number)[], name: string | undefined) => {
    if (name !== undefined && input && !input.some((c) => c.name === name)) {
      problem(
        path,
        `column "${name}" is not in the input working set; it has ${input.map((c) => c.name).join(', ') || 'no columns'}`,
      );
    }
  };
  if (config.filter) {
    try {
      filterFields(parseFilter(config.filter, { resolveVar: () => null })).forEach((name) => field(['filter'], name));
    } catch (error) {
      problem(['filter'], `bad filter: ${(error as Error).message}`);
    }
  }
  config.orderBy?.forEach((item, i) => field(['orderBy', i], item.trim().split(/\s+/)[0]!));
  if (typeof config.incremental === 'object' && config.incremental.field)
    field(['incremental', 'field'], config.incremental.field);
  switch (config.operation) {
    case 'import': {
      inputColumn(['population'], config.population);
      // Unknown fields are reported here; the output is what the known ones give, so later activities are checked too.
      const known = config.fields?.filter((f, i) => field(['fields', i, 'crm'], f.crm) !== undefined);
      return importOutputColumns(schema, importColumns(known ? { ...config, fields: known } : config, schema));
    }
    case 'import-deleted':
      return [
        { name: schema.crmIdColumn, kind: 'text' },
        { name: 'deleted_at', kind: 'text' },
      ];
    default: {
      if (config.operation === 'export' && !config.mapping)
        problem(['mapping'], 'an export needs a mapping (CRM field → column)');
      if (config.mode === 'upsert' && !config.externalIdField)
        problem(['externalIdField'], 'mode upsert needs externalIdField');
      inputColumn(
        ['idColumn'],
        config.idColumn ?? (config.operation === 'delete' || config.mode !== 'insert' ? schema.crmIdColumn : undefined),
      );
      inputColumn(['key'], config.key);
      for (const [crmField, expression] of Object.entries(config.mapping ?? {})) {
        const column =
          /^(?:lower|upper|trim)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/.exec(expression.trim())?.[1] ??
          (/^'/.test(expression.trim()) ? undefined : expression.trim());
        inputColumn(['mapping', crmField], column);
      }
      const key = config.key ?? (input?.some((c) => c.name === 'id') ? 'id' : schema.crmIdColumn);
      return [
        { name: key, kind: 'text' },
        { name: 'crm_id', kind: 'text' },
        { name: 'created', kind: 'boolean' },
      ];
    }
  }
}
