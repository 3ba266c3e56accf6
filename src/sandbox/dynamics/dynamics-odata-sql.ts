import { odataError } from './dynamics-http.js';
import type { CompareOp, FilterNode } from './dynamics-odata-parser.js';
import type { AttributeDef, EntityDef } from './dynamics-schema-types.js';
import { quoteIdent, type SqlValue } from './dynamics-store.js';
import { parseDateValue } from './dynamics-values.js';

/**
 * Compiles a parsed `$filter` tree into a SQL WHERE clause with `?` placeholders. Identifiers come only from the
 * table's schema (checked), values only through parameters: user input never becomes SQL text.
 */
export interface CompiledSql {
  sql: string;
  params: SqlValue[];
}

const SQL_OPS: Record<CompareOp, string> = { eq: '=', ne: '<>', gt: '>', ge: '>=', lt: '<', le: '<=' };
const OP_KINDS: Record<CompareOp, string> = {
  eq: 'Equal',
  ne: 'NotEqual',
  gt: 'GreaterThan',
  ge: 'GreaterThanOrEqual',
  lt: 'LessThan',
  le: 'LessThanOrEqual',
};
const LITERAL_EDM: Record<string, string> = {
  string: 'Edm.String',
  number: 'Edm.Int32',
  boolean: 'Edm.Boolean',
  guid: 'Edm.Guid',
  datetime: 'Edm.DateTimeOffset',
  date: 'Edm.Date',
  enum: 'Edm.String',
};

function edmOf(attribute: AttributeDef): string {
  switch (attribute.type) {
    case 'Integer':
    case 'Picklist':
    case 'State':
    case 'Status':
      return 'Edm.Int32';
    case 'BigInt':
      return 'Edm.Int64';
    case 'Decimal':
    case 'Money':
      return 'Edm.Decimal';
    case 'Double':
      return 'Edm.Double';
    case 'Boolean':
      return 'Edm.Boolean';
    case 'DateTime':
      return attribute.dateBehavior === 'DateOnly' ? 'Edm.Date' : 'Edm.DateTimeOffset';
    case 'Uniqueidentifier':
    case 'Lookup':
    case 'Customer':
    case 'Owner':
      return 'Edm.Guid';
    default:
      return 'Edm.String';
  }
}

export function unknownProperty(name: string, entity: EntityDef): Error {
  return odataError(
    `Could not find a property named '${name}' on type 'Microsoft.Dynamics.CRM.${entity.logicalName}'.`,
  );
}

/** Converts a filter literal to the stored form of `attribute`; undefined when the types are incompatible. */
function convertLiteral(
  attribute: AttributeDef,
  type: string,
  value: string | number | boolean | null,
  fromString: boolean,
): SqlValue | undefined {
  const edm = edmOf(attribute);
  if (fromString && typeof value === 'string') {
    // Dataverse query functions pass every value as a string; coerce by the column's type.
    if (edm === 'Edm.Boolean') return value === 'true' ? 1 : value === 'false' ? 0 : undefined;
    if (['Edm.Int32', 'Edm.Int64', 'Edm.Decimal', 'Edm.Double'].includes(edm))
      return value.trim() !== '' && Number.isFinite(Number(value)) ? Number(value) : undefined;
    if (edm === 'Edm.Guid') return /^[0-9a-f-]{36}$/i.test(value) ? value.toLowerCase() : undefined;
    if (edm === 'Edm.Date' || edm === 'Edm.DateTimeOffset') return parseDateValue(attribute, value);
    return value;
  }
  switch (edm) {
    case 'Edm.String':
      return type === 'string' ? (value as string) : undefined;
    case 'Edm.Guid':
      return type === 'guid' ? (value as string) : undefined;
    case 'Edm.Boolean':
      return type === 'boolean' ? (value ? 1 : 0) : undefined;
    case 'Edm.Date':
    case 'Edm.DateTimeOffset':
      return type === 'datetime' || type === 'date' ? parseDateValue(attribute, value as string) : undefined;
    default:
      return type === 'number' ? (value as number) : undefined;
  }
}

class Compiler {
  readonly params: SqlValue[] = [];
  constructor(
    private readonly entity: EntityDef,
    private readonly attributes: Map<string, AttributeDef>,
  ) {}

  private property(node: FilterNode): { column: string; attribute: AttributeDef } | undefined {
    if (node.kind !== 'property') return undefined;
    const attribute = this.attributes.get(node.path);
    if (!attribute) throw unknownProperty(node.path, this.entity);
    return { column: quoteIdent(attribute.logicalName), attribute };
  }

  compile(node: FilterNode): string {
    switch (node.kind) {
      case 'and':
      case 'or':
        return `(${this.compile(node.left)} ${node.kind.toUpperCase()} ${this.compile(node.right)})`;
      case 'not':
        return `(NOT ${this.compile(node.expr)})`;
      case 'compare':
        return this.compare(node.op, node.left, node.right);
      case 'call':
        return this.call(node.name, node.args);
      case 'property':
        this.property(node);
        throw odataError(`The $filter expression must evaluate to a single boolean value.`);
      default:
        throw odataError(`The $filter expression must evaluate to a single boolean value.`);
    }
  }

  private compare(op: CompareOp, left: FilterNode, right: FilterNode): string {
    let prop = this.property(left);
    let literal = right;
    let effectiveOp = op;
    if (!prop) {
      prop = this.property(right);
      literal = left;
      // `5 lt x` is `x gt 5`.
      const flip: Record<CompareOp, CompareOp> = { eq: 'eq', ne: 'ne', gt: 'lt', ge: 'le', lt: 'gt', le: 'ge' };
      effectiveOp = flip[op];
    }
    if (!prop)
      throw odataError(
        `A binary operator with incompatible types was detected. Found operand types 'Edm.Untyped' and 'Edm.Untyped' for operator kind '${OP_KINDS[op]}'.`,
      );
    if (literal.kind === 'property') {
      const other = this.property(literal)!;
      return `${prop.column} ${SQL_OPS[effectiveOp]} ${other.column}`;
    }
    if (literal.kind !== 'literal')
      throw odataError(`The $filter comparison needs a literal value for operator kind '${OP_KINDS[op]}'.`);
    if (literal.type === 'null') {
      if (op === 'eq') return `${prop.column} IS NULL`;
      if (op === 'ne') return `${prop.column} IS NOT NULL`;
    }
    const value = convertLiteral(prop.attribute, literal.type, literal.value, false);
    if (value === undefined || value === null) {
      throw odataError(
        `A binary operator with incompatible types was detected. Found operand types '${edmOf(prop.attribute)}' and '${LITERAL_EDM[literal.type] ?? 'Edm.Untyped'}' for operator kind '${OP_KINDS[op]}'.`,
      );
    }
    this.params.push(value);
    return `${prop.column} ${SQL_OPS[effectiveOp]} ?`;
  }

  private stringArg(args: FilterNode[], index: number, fn: string): string {
    const arg = args[index];
    if (arg?.kind !== 'literal' || arg.type !== 'string')
      throw odataError(`No function signature for the function with name '${fn}' matches the specified arguments.`);
    return arg.value as string;
  }

  private namedProperty(args: FilterNode[], fn: string): { column: string; attribute: AttributeDef } {
    const name = this.stringArg(args, 0, fn);
    const attribute = this.attributes.get(name) ?? this.attributes.get(`_${name}_value`);
    if (!attribute) throw unknownProperty(name, this.entity);
    return { column: quoteIdent(attribute.logicalName), attribute };
  }

  private values(args: FilterNode[], prop: { attribute: AttributeDef }, fn: string): SqlValue[] {
    const list = args[1];
    if (list?.kind !== 'list')
      throw odataError(`No function signature for the function with name '${fn}' matches the specified arguments.`);
    return list.items.map((item) => {
      if (item.kind !== 'literal') throw odataError(`Invalid value in '${fn}'.`);
      const v = convertLiteral(prop.attribute, item.type, item.value, true);
      if (v === undefined || v === null)
        throw odataError(`The value '${String(item.value)}' is not valid for '${prop.attribute.logicalName}'.`);
      return v;
    });
  }

  private call(name: string, args: FilterNode[]): string {
    const short = name.replace(/^Microsoft\.Dynamics\.CRM\./, '');
    if (['contains', 'startswith', 'endswith'].includes(name)) {
      const prop = args[0] ? this.property(args[0]) : undefined;
      if (!prop || !['String', 'Memo'].includes(prop.attribute.type)) {
        throw odataError(`No function signature for the function with name '${name}' matches the specified arguments.`);
      }
      const needle = this.stringArg(args, 1, name).replace(/[\\%_]/g, (c) => `\\${c}`);
      this.params.push(name === 'contains' ? `%${needle}%` : name === 'startswith' ? `${needle}%` : `%${needle}`);
      return `${prop.column} LIKE ? ESCAPE '\\'`;
    }
    if (name.startsWith('Microsoft.Dynamics.CRM.')) {
      const prop = this.namedProperty(args, name);
      const values = this.values(args, prop, name);
      switch (short) {
        case 'In':
        case 'NotIn':
          this.params.push(...values);
          return `${prop.column} ${short === 'NotIn' ? 'NOT IN' : 'IN'} (${values.map(() => '?').join(', ') || 'NULL'})`;
        case 'Between':
        case 'NotBetween':
          if (values.length !== 2) throw odataError(`'${name}' needs exactly two values.`);
          this.params.push(...values);
          return `${short === 'NotBetween' ? 'NOT ' : ''}(${prop.column} BETWEEN ? AND ?)`;
        case 'ContainValues':
        case 'DoesNotContainValues': {
          if (prop.attribute.type !== 'MultiSelectPicklist')
            throw odataError(`'${name}' applies only to choices columns.`);
          const parts = values.map((v) => {
            this.params.push(`%,${String(v)},%`);
            return `(',' || ${prop.column} || ',') LIKE ?`;
          });
          const any = `(${parts.join(' OR ')})`;
          return short === 'ContainValues' ? any : `(${prop.column} IS NULL OR NOT ${any})`;
        }
        default:
          break;
      }
    }
    throw odataError(
      `An unknown function with name '${name}' was found. This may also be a function import or a key lookup on a navigation property, which is not allowed.`,
    );
  }
}

/** Compiles `$filter` for `entity`; `attributes` maps wire property names to columns. */
export function compileFilter(node: FilterNode, entity: EntityDef, attributes: Map<string, AttributeDef>): CompiledSql {
  const compiler = new Compiler(entity, attributes);
  const sql = compiler.compile(node);
  return { sql, params: compiler.params };
}
