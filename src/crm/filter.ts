/**
 * Liaison's one filter language, as a tree. Users write it as text (see sync/filter-parse.ts); each driver compiles
 * it to its own query language in one audited place, escaping every value. Field names are checked against the
 * object's metadata before compiling, so neither values nor names can inject query text.
 */

export type FilterValue = string | number | boolean | null | { date: string } | { datetime: string };

export type ComparisonOperator = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type FilterExpr =
  | { kind: 'and'; args: FilterExpr[] }
  | { kind: 'or'; args: FilterExpr[] }
  | { kind: 'not'; arg: FilterExpr }
  | { kind: 'compare'; field: string; op: ComparisonOperator; value: FilterValue }
  | { kind: 'in'; field: string; values: FilterValue[]; negate?: boolean }
  /** `%` matches any run, `_` one character (SQL/SOQL LIKE semantics). */
  | { kind: 'like'; field: string; pattern: string; negate?: boolean }
  | { kind: 'null'; field: string; negate?: boolean };

/** Every field name a filter mentions, for validation against metadata. */
export function filterFields(expr: FilterExpr): string[] {
  switch (expr.kind) {
    case 'and':
    case 'or':
      return expr.args.flatMap(filterFields);
    case 'not':
      return filterFields(expr.arg);
    default:
      return [expr.field];
  }
}
