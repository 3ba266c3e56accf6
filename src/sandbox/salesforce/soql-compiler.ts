import { malformed } from './soql-lexer.js';
import type { ChildQuery, Condition, FieldPath, SoqlQuery, SoqlValue } from './soql-parser.js';
import { q, type RecordStore } from './record-store.js';
import { parseDateTime, toWireDateTime, type SqlValue } from './record-values.js';
import { relativeRange } from './soql-dates.js';
import { normaliseId } from './salesforce-ids.js';
import { findChildRelationship } from './schema-describe.js';
import { nodeExpr, valueExpr, type Node } from './soql-render.js';
import { SfApiError, TEXT_FIELD_TYPES, type SfField, type SfObject } from './schema-types.js';

/**
 * Compiles a parsed SOQL query to parameterised SQL over the record tables. Literal values always travel as
 * parameters; identifiers come only from the catalog (never from the query text), so nothing the client sends is
 * spliced into SQL. Records are rendered to JSON by SQLite itself (json_object), which keeps page serving cheap.
 */
export interface CompiledQuery {
  object: SfObject;
  count: boolean;
  /** Appends the matching `_rid`s to temp.cursor_rows in result order (positions are the table's rowids). */
  materializeSql: string;
  countSql: string;
  params: SqlValue[];
  /** One JSON text per row: params (fromPosExclusive, toPosInclusive) as absolute cursor_rows positions. */
  jsonSql: string;
  /** Parameters of child subqueries, which sit in jsonSql's select list. */
  selectParams: SqlValue[];
  hasSubqueries: boolean;
  /** Raw column values per row for Bulk CSV, same params as jsonSql. */
  csvSql: string;
  csvHeader: string[];
  csvFields: (SfField | undefined)[];
}

const NUMERIC = new Set(['int', 'double', 'currency', 'percent']);
/**
 * SQLite's NOCASE folds ASCII only, while SOQL compares case-insensitively in every script. Literals with
 * non-ASCII letters are compared through sf_fold (JS toLowerCase, registered by RecordStore); ASCII-only
 * literals keep the indexable NOCASE path (a value equal to them ignoring case is ASCII too).
 */
const NON_ASCII = /[^\x00-\x7f]/;

class Joins {
  private readonly aliases = new Map<string, string>();
  readonly clauses: string[] = [];

  constructor(private readonly prefix: string) {}

  alias(key: string, parentAlias: string, field: SfField, target: SfObject): string {
    let alias = this.aliases.get(key);
    if (!alias) {
      alias = `${this.prefix}${this.aliases.size + 1}`;
      this.aliases.set(key, alias);
      this.clauses.push(`LEFT JOIN ${q(target.name)} ${alias} ON ${alias}."Id" = ${parentAlias}.${q(field.name)}`);
    }
    return alias;
  }
}

interface Resolved {
  field: SfField;
  object: SfObject;
  alias: string;
  /** Relationship steps from the root: canonical relationship name and the object it leads to. */
  chain: { name: string; object: SfObject; alias: string }[];
}

export class SoqlCompiler {
  constructor(
    private readonly store: RecordStore,
    private readonly clock: () => Date,
  ) {}

  private resolve(query: SoqlQuery, root: SfObject, path: FieldPath, joins: Joins, rootAlias = 't'): Resolved {
    let object = root;
    let alias = rootAlias;
    const chain: Resolved['chain'] = [];
    const parts = path.parts;
    for (let k = 0; k < parts.length - 1; k++) {
      const relName = parts[k] as string;
      const ref = object.byRelationship.get(relName.toLowerCase());
      const target = ref ? this.store.catalog.get((ref.referenceTo[0] ?? '').toLowerCase()) : undefined;
      if (!ref || !target) {
        throw invalidField(
          query,
          path.pos,
          `Didn't understand relationship '${relName}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
        );
      }
      alias = joins.alias(
        parts
          .slice(0, k + 1)
          .join('.')
          .toLowerCase(),
        alias,
        ref,
        target,
      );
      chain.push({ name: String(ref.relationshipName), object: target, alias });
      object = target;
    }
    const name = parts[parts.length - 1] as string;
    const field = object.byName.get(name.toLowerCase());
    if (!field) {
      throw invalidField(
        query,
        path.pos,
        `No such column '${name}' on entity '${object.name}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    return { field, object, alias, chain };
  }

  compile(query: SoqlQuery, apiVersion: string, includeDeleted: boolean): CompiledQuery {
    const object = this.store.object(query.from, 400);
    const filterJoins = new Joins('w');
    const params: SqlValue[] = [];
    const where: string[] = includeDeleted ? [] : ['t."IsDeleted" = 0'];
    if (query.where) where.push(this.condition(query, object, query.where, filterJoins, params));
    const { terms: order, byId } = this.orderTerms(query, object, filterJoins, 't');
    // Ties are broken by insertion order, unless the record Id (unique) already orders them: a tie-break after it
    // would only cost SQLite a sort the (SystemModstamp, Id) index otherwise spares.
    if (!byId) order.push('t."_rid" ASC');
    if (query.offset !== undefined && query.offset > 2000) {
      throw new SfApiError(400, 'NUMBER_OUTSIDE_VALID_RANGE', `Maximum SOQL offset allowed is 2000`);
    }
    const from = `FROM ${q(object.name)} t ${filterJoins.clauses.join(' ')} WHERE ${where.length > 0 ? where.join(' AND ') : '1'}`;
    const limit =
      query.limit !== undefined || query.offset !== undefined
        ? ` LIMIT ${query.limit ?? -1} OFFSET ${query.offset ?? 0}`
        : '';
    const orderBy = order.join(', ');
    // INSERT … SELECT … ORDER BY inserts in result order, so rowids become result positions: no window function.
    const materializeSql = `INSERT INTO temp."cursor_rows" ("rid") SELECT t."_rid" ${from} ORDER BY ${orderBy}${limit}`;
    const countSql = `SELECT count(*) FROM (SELECT 1 ${from}${limit})`;

    const selectJoins = new Joins('s');
    const selectParams: SqlValue[] = [];
    if (query.count && query.subqueries.length > 0)
      throw malformed(query.source, query.fromPos, 'COUNT() cannot be used with subqueries');
    const {
      node: rootNode,
      csvHeader,
      csvExprs,
      csvFields,
    } = this.selectNode(query, object, selectJoins, 't', (sq) =>
      this.childExpr(query, object, sq, apiVersion, includeDeleted, selectParams),
    );
    const base = `FROM temp."cursor_rows" c JOIN ${q(object.name)} t ON t."_rid" = c."rid" ${selectJoins.clauses.join(' ')} WHERE c."pos" > ? AND c."pos" <= ? ORDER BY c."pos"`;
    return {
      object,
      count: query.count,
      materializeSql,
      countSql,
      params,
      jsonSql: `SELECT ${nodeExpr(rootNode, apiVersion, true)} ${base}`,
      selectParams,
      hasSubqueries: query.subqueries.length > 0,
      csvSql: `SELECT ${csvExprs.length > 0 ? csvExprs.join(', ') : 't."Id"'} ${base}`,
      csvHeader,
      csvFields,
    };
  }

  /** The ORDER BY terms, and whether they include the queried object's own Id (which makes the order total). */
  private orderTerms(
    query: SoqlQuery,
    object: SfObject,
    joins: Joins,
    rootAlias: string,
  ): { terms: string[]; byId: boolean } {
    let byId = false;
    const terms = query.orderBy.map((item) => {
      const r = this.resolve(query, object, item.field, joins, rootAlias);
      if (r.alias === rootAlias && r.field.name === 'Id') byId = true;
      if (!r.field.stored)
        throw invalidField(query, item.field.pos, `field '${r.field.name}' can not be sorted in a query call`);
      const collate =
        TEXT_FIELD_TYPES.has(r.field.type) && r.field.type !== 'id' && r.field.type !== 'reference'
          ? ' COLLATE NOCASE'
          : '';
      const nulls = item.nulls ?? (item.desc ? 'last' : 'first');
      return `${r.alias}.${q(r.field.name)}${collate} ${item.desc ? 'DESC' : 'ASC'} NULLS ${nulls.toUpperCase()}`;
    });
    return { terms, byId };
  }

  /** The JSON tree of the selected fields (parents nested, child subqueries in place) and the flat CSV columns. */
  private selectNode(
    query: SoqlQuery,
    object: SfObject,
    joins: Joins,
    rootAlias: string,
    child: (sq: ChildQuery) => { name: string; sql: string },
  ): { node: Node; csvHeader: string[]; csvExprs: string[]; csvFields: (SfField | undefined)[] } {
    const rootNode: Node = { object, alias: rootAlias, entries: [] };
    const seen = new Set<string>();
    const csvHeader: string[] = [];
    const csvExprs: string[] = [];
    const csvFields: (SfField | undefined)[] = [];
    const addChildren = (index: number) => {
      for (const sq of query.subqueries.filter((x) => x.index === index))
        rootNode.entries.push({ kind: 'child', ...child(sq) });
    };
    query.fields.forEach((path, index) => {
      addChildren(index);
      const r = this.resolve(query, object, path, joins, rootAlias);
      const key = [...r.chain.map((c) => c.name), r.field.name].join('.');
      if (seen.has(key.toLowerCase())) throw malformed(query.source, path.pos, `duplicate field selected: ${key}`);
      seen.add(key.toLowerCase());
      let node = rootNode;
      for (const step of r.chain) {
        let next = node.entries.find(
          (e): e is { kind: 'rel'; name: string; node: Node } => e.kind === 'rel' && e.name === step.name,
        );
        if (!next) {
          next = { kind: 'rel', name: step.name, node: { object: step.object, alias: step.alias, entries: [] } };
          node.entries.push(next);
        }
        node = next.node;
      }
      node.entries.push({ kind: 'field', field: r.field });
      csvHeader.push(key);
      csvExprs.push(r.field.stored ? `${r.alias}.${q(r.field.name)}` : valueExpr(r.object, r.alias, r.field));
      csvFields.push(r.field);
    });
    addChildren(query.fields.length);
    return { node: rootNode, csvHeader, csvExprs, csvFields };
  }

  /**
   * A child relationship subquery as a correlated SQL expression giving Salesforce's nested QueryResult
   * ({totalSize, done, records}) or null when there are no children. Children are not paged (done is always true).
   */
  private childExpr(
    query: SoqlQuery,
    parent: SfObject,
    sq: ChildQuery,
    apiVersion: string,
    includeDeleted: boolean,
    params: SqlValue[],
  ): { name: string; sql: string } {
    const rel = findChildRelationship(this.store.catalog, parent, sq.relationship);
    if (!rel) {
      throw new SfApiError(
        400,
        'INVALID_TYPE',
        `Didn't understand relationship '${sq.relationship}' in FROM part of query call. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    }
    const n = query.subqueries.indexOf(sq) + 1;
    const alias = `k${n}`;
    const joins = new Joins(`k${n}j`);
    this.store.ensureIndex(rel.child, rel.field);
    const sub = sq.query;
    const { node } = this.selectNode(sub, rel.child, joins, alias, () => {
      throw malformed(query.source, sq.pos, 'Nesting of subqueries is not supported');
    });
    const where = [`${alias}.${q(rel.field.name)} = t."Id"`];
    if (!includeDeleted) where.push(`${alias}."IsDeleted" = 0`);
    if (sub.where) where.push(this.condition(sub, rel.child, sub.where, joins, params, alias));
    const order = [...this.orderTerms(sub, rel.child, joins, alias).terms, `${alias}."_rid" ASC`].join(', ');
    const limit = sub.limit !== undefined ? ` LIMIT ${sub.limit}` : '';
    const rows = `SELECT ${nodeExpr(node, apiVersion, true)} AS j FROM ${q(rel.child.name)} ${alias} ${joins.clauses.join(' ')} WHERE ${where.join(' AND ')} ORDER BY ${order}${limit}`;
    const sql = `(SELECT CASE WHEN count(*) = 0 THEN NULL ELSE json_object('totalSize', count(*), 'done', json('true'), 'records', json_group_array(json(x.j))) END FROM (${rows}) x)`;
    return { name: rel.name, sql };
  }

  private condition(
    query: SoqlQuery,
    object: SfObject,
    cond: Condition,
    joins: Joins,
    params: SqlValue[],
    rootAlias = 't',
  ): string {
    switch (cond.kind) {
      case 'and':
      case 'or':
        return `(${cond.items.map((c) => this.condition(query, object, c, joins, params, rootAlias)).join(cond.kind === 'and' ? ' AND ' : ' OR ')})`;
      case 'not':
        return `NOT (${this.condition(query, object, cond.item, joins, params, rootAlias)})`;
      default:
        break;
    }
    const r = this.resolve(query, object, cond.field, joins, rootAlias);
    const f = r.field;
    if (!f.stored) throw invalidField(query, cond.field.pos, `field '${f.name}' can not be filtered in a query call`);
    const col = `${r.alias}.${q(f.name)}`;
    const nocase = TEXT_FIELD_TYPES.has(f.type) && f.type !== 'id' && f.type !== 'reference' ? ' COLLATE NOCASE' : '';
    if (cond.kind === 'like') {
      if (!TEXT_FIELD_TYPES.has(f.type) || cond.value.kind !== 'string')
        throw invalidField(query, cond.field.pos, `invalid operator on field: ${f.name}`);
      if (NON_ASCII.test(cond.value.like)) {
        params.push(cond.value.like.toLowerCase());
        return `sf_fold(${col}) LIKE ? ESCAPE '\\'`;
      }
      params.push(cond.value.like);
      return `${col} LIKE ? ESCAPE '\\'`;
    }
    if (cond.kind === 'in' || cond.kind === 'includes') {
      const values = cond.values.map((v) => this.literal(query, cond.field, f, v));
      if (cond.kind === 'includes') {
        if (f.type !== 'multipicklist')
          throw invalidField(query, cond.field.pos, `includes or excludes operator only valid on multipicklist field`);
        const tests = values.map((v) => {
          params.push(`%;${String(v)};%`);
          return `(';' || ${col} || ';') LIKE ?`;
        });
        return cond.negated ? `(${col} IS NULL OR NOT (${tests.join(' OR ')}))` : `(${tests.join(' OR ')})`;
      }
      const fold = nocase !== '' && values.some((v) => typeof v === 'string' && NON_ASCII.test(v));
      params.push(...(values as SqlValue[]).map((v) => (fold && typeof v === 'string' ? v.toLowerCase() : v)));
      const list = `(${values.map(() => '?').join(', ')})`;
      const target = fold ? `sf_fold(${col})` : `${col}${nocase}`;
      return cond.negated ? `(${col} IS NULL OR ${target} NOT IN ${list})` : `${target} IN ${list}`;
    }
    const { op, value } = cond;
    if (value.kind === 'relative') {
      if (f.type !== 'date' && f.type !== 'datetime')
        throw invalidField(
          query,
          cond.field.pos,
          `value of filter criterion for field '${f.name}' must be of type ${f.type} and should not be a date literal`,
        );
      const [start, end] = relativeRange(value.name, value.n, this.clock()).map((d) =>
        f.type === 'date' ? d.toISOString().slice(0, 10) : toWireDateTime(d),
      );
      const ranges: Record<string, [string, SqlValue[]]> = {
        '=': [`(${col} >= ? AND ${col} < ?)`, [start as string, end as string]],
        '!=': [`(${col} IS NULL OR ${col} < ? OR ${col} >= ?)`, [start as string, end as string]],
        '<': [`${col} < ?`, [start as string]],
        '<=': [`${col} < ?`, [end as string]],
        '>': [`${col} >= ?`, [end as string]],
        '>=': [`${col} >= ?`, [start as string]],
      };
      const [sql, values] = ranges[op] as [string, SqlValue[]];
      params.push(...values);
      return sql;
    }
    const v = this.literal(query, cond.field, f, value);
    if (v === null) {
      if (op === '=') return `${col} IS NULL`;
      if (op === '!=') return `${col} IS NOT NULL`;
      throw malformed(query.source, cond.field.pos, `invalid operator on null value`);
    }
    if (nocase !== '' && (op === '=' || op === '!=') && typeof v === 'string' && NON_ASCII.test(v)) {
      params.push(v.toLowerCase());
      return op === '!=' ? `sf_fold(${col}) IS NOT ?` : `sf_fold(${col}) = ?`;
    }
    params.push(v);
    return op === '!=' ? `${col} IS NOT ?${nocase}` : `${col} ${op} ?${nocase}`;
  }

  /** Checks a literal against the field's type as Salesforce does and converts it to the stored form. */
  private literal(query: SoqlQuery, path: FieldPath, f: SfField, value: SoqlValue): SqlValue {
    const mismatch = (kind: string) =>
      invalidField(
        query,
        path.pos,
        `value of filter criterion for field '${f.name}' must be of type ${kind} and should${kind === 'string' || kind === 'id' ? '' : ' not'} be enclosed in quotes`,
      );
    if (value.kind === 'null') return null;
    if (f.type === 'boolean') {
      if (value.kind !== 'boolean') throw mismatch('boolean');
      return value.value ? 1 : 0;
    }
    if (NUMERIC.has(f.type)) {
      if (value.kind !== 'number') throw mismatch(f.type === 'int' ? 'int' : 'double');
      return value.value;
    }
    if (f.type === 'date') {
      if (value.kind !== 'date') throw mismatch('date');
      return value.value;
    }
    if (f.type === 'datetime') {
      const parsed = value.kind === 'datetime' ? parseDateTime(value.value) : undefined;
      if (!parsed) throw mismatch('dateTime');
      return toWireDateTime(parsed);
    }
    if (value.kind !== 'string') throw mismatch('string');
    if (f.type === 'id' || f.type === 'reference') {
      const id = normaliseId(value.value);
      if (!id) throw new SfApiError(400, 'INVALID_QUERY_FILTER_OPERATOR', `invalid ID field: ${value.value}`);
      return id;
    }
    return value.value;
  }
}

function invalidField(query: SoqlQuery, pos: number, detail: string): SfApiError {
  const m = malformed(query.source, pos, detail);
  return new SfApiError(400, 'INVALID_FIELD', m.message, []);
}
