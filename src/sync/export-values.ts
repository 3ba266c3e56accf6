import { LiaisonError } from '../core/errors.js';
import { fromStoredMultiSelect } from '../enumerations/multi-select.js';
import type { LocalSchema } from '../wizard/schema-types.js';
import type { Row } from '../workflow/working-set.js';

/**
 * Export mappings: CRM field → a working-set column, a quoted literal (`'Web'`), or a simple expression on one
 * column (`lower(email)`, `upper(country)`, `trim(last_name)`). Values are converted from their stored form to the
 * neutral form drivers write (booleans from 0/1, multi-select JSON text to arrays, numbers from numeric text).
 */
export type ValueReader = (row: Row) => unknown;

const FUNCTION = /^(lower|upper|trim)\(\s*([A-Za-z_][A-Za-z0-9_]*)\s*\)$/;
const LITERAL = /^'((?:[^']|'')*)'$/;

export function compileMapping(
  mapping: Record<string, string>,
  columns: readonly string[],
  schema: LocalSchema,
): { crmField: string; read: ValueReader }[] {
  return Object.entries(mapping).map(([crmField, expression]) => {
    const source = compileExpression(expression.trim(), columns, crmField);
    const local = schema.columns.find((c) => c.crmField.toLowerCase() === crmField.toLowerCase());
    const type = local?.multiSelect ? 'multipicklist' : local?.type;
    // The CRM field keeps the spelling the user gave when the schema does not know it: the CRM will say INVALID_FIELD.
    return { crmField: local?.crmField ?? crmField, read: (row: Row) => toNeutral(source(row), type) };
  });
}

function compileExpression(expression: string, columns: readonly string[], crmField: string): ValueReader {
  const literal = LITERAL.exec(expression);
  if (literal) {
    const value = literal[1]!.replace(/''/g, "'");
    return () => value;
  }
  const call = FUNCTION.exec(expression);
  const column = call ? call[2]! : expression;
  if (!columns.includes(column)) {
    throw new LiaisonError(
      'field_not_found',
      `export mapping ${crmField}: "${expression}" names no column of the input working set (it has ${columns.join(', ')}); use a column, 'literal', lower(col), upper(col) or trim(col)`,
    );
  }
  if (!call) return (row) => row[column];
  const fn = call[1];
  return (row) => {
    const value = row[column];
    if (value === null || value === undefined) return null;
    const text = String(value);
    return fn === 'lower' ? text.toLowerCase() : fn === 'upper' ? text.toUpperCase() : text.trim();
  };
}

function toNeutral(value: unknown, type: string | undefined): unknown {
  if (value === undefined) return null;
  if (value === null) return null;
  switch (type) {
    case 'boolean':
      return typeof value === 'boolean' ? value : value === 1 || value === '1' || value === 'true';
    case 'integer':
    case 'bigint':
    case 'decimal':
    case 'double':
      return typeof value === 'number' ? value : Number(value);
    case 'multipicklist':
      return Array.isArray(value) ? value : fromStoredMultiSelect(value);
    case 'datetime':
      return value instanceof Date ? value.toISOString() : String(value);
    default:
      return value instanceof Date ? value.toISOString() : value;
  }
}
