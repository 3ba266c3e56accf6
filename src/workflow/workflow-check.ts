import { errorMessage } from '../core/errors.js';
import { filterFields } from '../crm/filter.js';
import { FilterSyntaxError, parseFilter } from '../crm/filter-parse.js';
import type { Store } from '../store/store-types.js';
import type { IssuePath, SourceMap, ValidationIssue } from './workflow-load.js';
import { executionOrder } from './workflow-load.js';
import { targetsOf, type ActivityConfig, type WorkflowDefinition } from './workflow-schema.js';
import { tableColumns, type ColumnInfo } from './workflow-tables.js';
import { checkConnector } from '../sync/connector-columns.js';
import { findSchema } from '../wizard/schema-registry.js';

type Columns = readonly ColumnInfo[] | undefined;

/**
 * Checks filters and every column a workflow names against the store: source tables' columns, and the columns each
 * working set will carry (propagated activity by activity; unknown after a CRM connector, so those are not checked).
 * Without a store only filter syntax is checked.
 */
export async function checkColumns(
  definition: WorkflowDefinition,
  store: Store | undefined,
  pathOf: (activity: ActivityConfig) => IssuePath,
  map: SourceMap,
  issues: ValidationIssue[],
): Promise<void> {
  const outputs = new Map<string, Columns[]>();
  const tables = new Map<string, Columns | null>();
  const table = async (name: string): Promise<Columns | null> => {
    if (!store) return undefined;
    if (!tables.has(name)) tables.set(name, (await tableColumns(store, name)) ?? null);
    return tables.get(name)!;
  };
  for (const activity of executionOrder(definition)) {
    const at = (...rest: (string | number)[]) => map.line([...pathOf(activity), ...rest]);
    const error = (line: number, message: string) =>
      issues.push({ severity: 'error', line, message: `activity "${activity.name}": ${message}` });
    const need = (columns: Columns, name: string, line: number, what: string) => {
      if (columns && !columns.some((c) => c.name === name))
        error(
          line,
          `unknown field "${name}" in ${what}; it has ${columns.map((c) => c.name).join(', ') || 'no columns'}`,
        );
    };
    const inputs = outputs.get(activity.name) ?? [];
    const input: Columns = inputs.length === 1 ? inputs[0] : undefined;
    let result: Columns;
    switch (activity.type) {
      case 'query': {
        const source = await table(activity.table);
        if (source === null) {
          error(at('table'), `table "${activity.table}" does not exist in the store`);
          break;
        }
        checkFilter(activity.filter, source, at('filter'), error, `table "${activity.table}"`);
        activity.fields?.forEach((field, i) => need(source, field, at('fields', i), `table "${activity.table}"`));
        activity.orderBy?.forEach((item, i) =>
          need(source, item.split(/\s+/)[0]!, at('orderBy', i), `table "${activity.table}"`),
        );
        result = source && activity.fields ? source.filter((c) => activity.fields!.includes(c.name)) : source;
        break;
      }
      case 'enrichment': {
        if (Object.keys(activity.on).length === 0)
          error(at('on'), '"on" needs at least one working-set column → table column');
        if (Object.keys(activity.fields).length === 0) error(at('fields'), '"fields" needs at least one column to add');
        const joined = await table(activity.table);
        if (joined === null) {
          error(at('table'), `table "${activity.table}" does not exist in the store`);
          break;
        }
        for (const [wsColumn, tableColumn] of Object.entries(activity.on)) {
          need(input, wsColumn, at('on', wsColumn), 'the input working set');
          need(joined, tableColumn, at('on', wsColumn), `table "${activity.table}"`);
        }
        for (const [newColumn, tableColumn] of Object.entries(activity.fields)) {
          need(joined, tableColumn, at('fields', newColumn), `table "${activity.table}"`);
          if (input?.some((c) => c.name === newColumn))
            error(at('fields', newColumn), `new field "${newColumn}" already exists in the input working set`);
        }
        result =
          input && joined
            ? [
                ...input,
                ...Object.entries(activity.fields).map(([name, from]) => ({
                  ...(joined.find((c) => c.name === from) ?? { kind: 'text' as const }),
                  name,
                })),
              ]
            : undefined;
        setOutputs(outputs, activity, { ok: result, unmatched: input });
        continue;
      }
      case 'update-data': {
        const target = await table(activity.table);
        if (target === null) {
          // Not an error: the table may be created (by the wizard, or by hand) before the run reaches this activity.
          issues.push({
            severity: 'warning',
            line: at('table'),
            message: `activity "${activity.name}": table "${activity.table}" does not exist yet; the run fails here unless it is created first`,
          });
        } else {
          activity.keys?.forEach((key, i) => need(target, key, at('keys', i), `table "${activity.table}"`));
          for (const [targetColumn, source] of Object.entries(activity.mapping ?? {})) {
            need(target, targetColumn, at('mapping', targetColumn), `table "${activity.table}"`);
            need(input, source, at('mapping', targetColumn), 'the input working set');
          }
          if (!activity.mapping)
            activity.keys?.forEach((key, i) => need(input, key, at('keys', i), 'the input working set'));
          if (activity.markDeleted)
            need(target, activity.markDeleted.column, at('markDeleted', 'column'), `table "${activity.table}"`);
        }
        for (const [i, key] of (activity.keys ?? []).entries()) {
          if (activity.mapping && !(key in activity.mapping))
            error(at('keys', i), `key "${key}" is not in "mapping"; map it from a working-set column`);
        }
        if (activity.operation !== 'insert' && !activity.keys)
          error(at('operation'), `operation "${activity.operation}" needs "keys" to find the records`);
        if (activity.operation === 'mark-deleted' && !activity.markDeleted)
          error(at('operation'), 'operation "mark-deleted" needs "markDeleted: { column: … }"');
        result = input;
        break;
      }
      case 'deduplication':
        activity.keys.forEach((key, i) => need(input, key, at('keys', i), 'the input working set'));
        if (activity.orderBy) need(input, activity.orderBy, at('orderBy'), 'the input working set');
        setOutputs(outputs, activity, { ok: input, duplicates: input });
        continue;
      case 'union':
        result = inputs.every((c) => c !== undefined) ? mergeColumns(inputs as ColumnInfo[][]) : undefined;
        break;
      case 'crm-connector': {
        // Checked against the generated schema in the registry, exactly as the connector will read it.
        const schema = store ? await findSchema(store.db, activity.object) : undefined;
        if (store && !schema) {
          error(
            at('object'),
            `no schema named "${activity.object}"; create it with: liaison wizard ${activity.account} --objects …`,
          );
          result = undefined;
          break;
        }
        if (!schema) {
          checkFilter(activity.filter, undefined, at('filter'), error, '');
          result = undefined;
          break;
        }
        const produced = checkConnector(activity, schema, input, (path, message) => error(at(...path), message));
        setOutputs(outputs, activity, { ok: produced, rejects: undefined, error: undefined });
        continue;
      }
      case 'end':
        result = undefined;
        break;
    }
    setOutputs(outputs, activity, { ok: result, rejects: input });
  }
}

function setOutputs(
  outputs: Map<string, Columns[]>,
  activity: ActivityConfig,
  byTransition: Record<string, Columns>,
): void {
  for (const [transition, value] of Object.entries(activity.transitions ?? {})) {
    for (const target of targetsOf(value)) {
      const list = outputs.get(target) ?? [];
      list.push(byTransition[transition]);
      outputs.set(target, list);
    }
  }
}

function checkFilter(
  text: string | undefined,
  columns: Columns,
  line: number,
  error: (line: number, message: string) => void,
  what: string,
): void {
  if (text === undefined) return;
  try {
    // Run variables are only known at run time; any value checks the syntax.
    const expr = parseFilter(text, { resolveVar: () => null });
    if (!columns) return;
    for (const field of filterFields(expr)) {
      if (!columns.some((c) => c.name === field))
        error(
          line,
          `filter field "${field}" does not exist in ${what}; it has ${columns.map((c) => c.name).join(', ')}`,
        );
    }
  } catch (caught) {
    error(
      line,
      caught instanceof FilterSyntaxError ? `bad filter: ${caught.message}` : `bad filter: ${errorMessage(caught)}`,
    );
  }
}

/** Columns of a union: every name once, in first-seen order; a name with differing kinds becomes text. */
export function mergeColumns(inputs: readonly (readonly ColumnInfo[])[]): ColumnInfo[] {
  const merged = new Map<string, ColumnInfo>();
  for (const columns of inputs) {
    for (const column of columns) {
      const seen = merged.get(column.name);
      if (!seen) merged.set(column.name, { ...column });
      else if (seen.kind !== column.kind) merged.set(column.name, { name: column.name, kind: 'text' });
      else if (seen.sqlType !== column.sqlType) merged.set(column.name, { name: column.name, kind: seen.kind });
    }
  }
  return [...merged.values()];
}
