import { sql, type RawBuilder, type SqlBool } from 'kysely';
import { LiaisonError } from '../core/errors.js';
import type { FilterExpr, FilterValue } from '../crm/filter.js';
import type { StoreDialect } from './store-types.js';

/** A name safe to use as an SQL identifier in both stores (still checked against the real columns by callers). */
export const SAFE_IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export function assertIdentifier(name: string, what: string): string {
  if (!SAFE_IDENTIFIER.test(name)) {
    throw new LiaisonError(
      'invalid_input',
      `${what} "${name}" is not a plain identifier (letters, digits, _; at most 63 characters)`,
    );
  }
  return name;
}

export interface FilterSqlOptions {
  dialect: StoreDialect;
  /** Qualifies every field with this table alias (for joins). */
  qualifier?: string;
  /** When given, every field must be one of these (the table's real columns). */
  columns?: ReadonlySet<string>;
}

/**
 * Compiles a `FilterExpr` to a parameterised SQL condition for a local table. Values are always bound parameters;
 * field names are checked identifiers. Booleans bind as 1/0 on SQLite (how it stores them) and as booleans on
 * PostgreSQL; dates and datetimes bind as their ISO text, which is how Liaison stores them.
 * `like` is case-sensitive on PostgreSQL and ASCII-case-insensitive on SQLite (each store's LIKE).
 *
 * @example db.selectFrom('recipient').selectAll().where(filterToSql(parseFilter("country = 'FR'"), { dialect }))
 */
export function filterToSql(expr: FilterExpr, options: FilterSqlOptions): RawBuilder<SqlBool> {
  const ref = (field: string): RawBuilder<unknown> => {
    assertIdentifier(field, 'filter field');
    if (options.columns && !options.columns.has(field)) {
      throw new LiaisonError(
        'field_not_found',
        `filter field "${field}" is not a column here; known columns: ${[...options.columns].join(', ')}`,
      );
    }
    return options.qualifier
      ? sql.ref(`${assertIdentifier(options.qualifier, 'table alias')}.${field}`)
      : sql.ref(field);
  };
  const param = (value: FilterValue): RawBuilder<unknown> => sql.val(bindValue(value, options.dialect));
  const compile = (node: FilterExpr): RawBuilder<SqlBool> => {
    switch (node.kind) {
      case 'and':
      case 'or':
        return sql<SqlBool>`(${sql.join(node.args.map(compile), node.kind === 'and' ? sql` and ` : sql` or `)})`;
      case 'not':
        return sql<SqlBool>`(not ${compile(node.arg)})`;
      case 'compare':
        if (node.value === null) {
          // `x = null` is never true in SQL; give it the meaning people intend.
          if (node.op === '=') return sql<SqlBool>`(${ref(node.field)} is null)`;
          if (node.op === '!=') return sql<SqlBool>`(${ref(node.field)} is not null)`;
        }
        return sql<SqlBool>`(${ref(node.field)} ${sql.raw(node.op === '!=' ? '<>' : node.op)} ${param(node.value)})`;
      case 'in': {
        if (node.values.length === 0) return node.negate ? sql<SqlBool>`(1 = 1)` : sql<SqlBool>`(1 = 0)`;
        const list = sql.join(node.values.map(param));
        return node.negate
          ? sql<SqlBool>`(${ref(node.field)} not in (${list}))`
          : sql<SqlBool>`(${ref(node.field)} in (${list}))`;
      }
      case 'like':
        return node.negate
          ? sql<SqlBool>`(${ref(node.field)} not like ${param(node.pattern)})`
          : sql<SqlBool>`(${ref(node.field)} like ${param(node.pattern)})`;
      case 'null':
        return node.negate
          ? sql<SqlBool>`(${ref(node.field)} is not null)`
          : sql<SqlBool>`(${ref(node.field)} is null)`;
    }
  };
  return compile(expr);
}

/** The parameter bound for a filter value in `dialect`. */
export function bindValue(value: FilterValue, dialect: StoreDialect): string | number | boolean | null {
  if (value === null || typeof value === 'string' || typeof value === 'number') return value;
  if (typeof value === 'boolean') return dialect === 'sqlite' ? (value ? 1 : 0) : value;
  return 'date' in value ? value.date : value.datetime;
}
