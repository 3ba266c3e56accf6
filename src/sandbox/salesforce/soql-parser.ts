import { malformed, tokenize, type Token } from './soql-lexer.js';

/** The SOQL subset the sandbox understands, as an AST (see soql-compiler.ts for the SQL it becomes). */
export interface FieldPath {
  /** e.g. ['Account', 'Name'] for `Account.Name`; the alias prefix, if any, is already removed. */
  parts: string[];
  text: string;
  pos: number;
}

export type SoqlValue =
  | { kind: 'string'; value: string; like: string }
  | { kind: 'number'; value: number }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' }
  | { kind: 'date'; value: string }
  | { kind: 'datetime'; value: string }
  | { kind: 'relative'; name: string; n: number };

export type CompareOp = '=' | '!=' | '<' | '<=' | '>' | '>=';

export type Condition =
  | { kind: 'and' | 'or'; items: Condition[] }
  | { kind: 'not'; item: Condition }
  | { kind: 'compare'; field: FieldPath; op: CompareOp; value: SoqlValue }
  | { kind: 'in'; field: FieldPath; negated: boolean; values: SoqlValue[] }
  | { kind: 'like'; field: FieldPath; value: SoqlValue }
  | { kind: 'includes'; field: FieldPath; negated: boolean; values: SoqlValue[] };

export interface OrderItem {
  field: FieldPath;
  desc: boolean;
  nulls?: 'first' | 'last';
}

/** A child relationship subquery, e.g. `(SELECT Id FROM Contacts)`, placed after `index` plain fields. */
export interface ChildQuery {
  relationship: string;
  pos: number;
  index: number;
  query: SoqlQuery;
}

export interface SoqlQuery {
  source: string;
  fields: FieldPath[];
  subqueries: ChildQuery[];
  count: boolean;
  from: string;
  fromPos: number;
  where?: Condition;
  orderBy: OrderItem[];
  limit?: number;
  offset?: number;
}

const RELATIVE = new Set([
  'YESTERDAY',
  'TODAY',
  'TOMORROW',
  'LAST_WEEK',
  'THIS_WEEK',
  'NEXT_WEEK',
  'LAST_MONTH',
  'THIS_MONTH',
  'NEXT_MONTH',
  'LAST_90_DAYS',
  'NEXT_90_DAYS',
  'THIS_YEAR',
  'LAST_YEAR',
  'NEXT_YEAR',
]);
const RELATIVE_N = new Set([
  'LAST_N_DAYS',
  'NEXT_N_DAYS',
  'N_DAYS_AGO',
  'LAST_N_WEEKS',
  'NEXT_N_WEEKS',
  'LAST_N_MONTHS',
  'NEXT_N_MONTHS',
]);

class Parser {
  private i = 0;
  private alias: string | undefined;

  constructor(
    private readonly source: string,
    private readonly tokens: Token[],
  ) {}

  private peek(): Token {
    return this.tokens[this.i] as Token;
  }

  private next(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private isWord(word: string, offset = 0): boolean {
    const t = this.tokens[this.i + offset];
    return t !== undefined && t.kind === 'ident' && t.text.toUpperCase() === word;
  }

  private isPunct(p: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === p;
  }

  private fail(t: Token = this.peek()): never {
    throw malformed(this.source, t.pos, `unexpected token: '${t.text}'`);
  }

  private expectWord(word: string): void {
    if (!this.isWord(word)) this.fail();
    this.i++;
  }

  private expectPunct(p: string): void {
    if (!this.isPunct(p)) this.fail();
    this.i++;
  }

  parse(inner = false): SoqlQuery {
    this.expectWord('SELECT');
    let count = false;
    const fields: FieldPath[] = [];
    const subqueries: ChildQuery[] = [];
    if (this.isWord('COUNT') && this.tokens[this.i + 1]?.text === '(') {
      this.i += 2;
      if (!this.isPunct(')'))
        throw malformed(
          this.source,
          this.peek().pos,
          'COUNT(field) and other aggregate functions are not supported by the sandbox; use COUNT()',
        );
      this.i++;
      count = true;
    } else {
      do {
        const t = this.peek();
        if (t.kind === 'punct' && t.text === '(') {
          if (inner) throw malformed(this.source, t.pos, 'Nesting of subqueries is not supported');
          this.i++;
          const outerAlias = this.alias;
          this.alias = undefined;
          const query = this.parse(true);
          this.alias = outerAlias;
          subqueries.push({ relationship: query.from, pos: query.fromPos, index: fields.length, query });
          continue;
        }
        if (t.kind !== 'ident' || ['FROM', 'TYPEOF', 'FIELDS'].includes(t.text.toUpperCase())) this.fail(t);
        if (this.tokens[this.i + 1]?.text === '(')
          throw malformed(this.source, t.pos, `Function '${t.text}' is not supported by the sandbox`);
        this.i++;
        fields.push({ parts: t.text.split('.'), text: t.text, pos: t.pos });
      } while (this.isPunct(',') && this.next());
    }
    this.expectWord('FROM');
    const from = this.next();
    if (from.kind !== 'ident' || from.text.includes('.')) this.fail(from);
    const keywords = ['WHERE', 'ORDER', 'LIMIT', 'OFFSET', 'FOR', 'WITH', 'GROUP', 'USING'];
    if (this.peek().kind === 'ident' && !keywords.includes(this.peek().text.toUpperCase())) {
      this.alias = this.next().text.toLowerCase();
    }
    const query: SoqlQuery = {
      source: this.source,
      fields,
      subqueries,
      count,
      from: from.text,
      fromPos: from.pos,
      orderBy: [],
    };
    if (this.alias) for (const f of fields) this.stripAlias(f);
    if (this.isWord('WHERE')) {
      this.i++;
      query.where = this.orExpr();
    }
    if (this.isWord('GROUP') || this.isWord('WITH'))
      throw malformed(
        this.source,
        this.peek().pos,
        `${this.peek().text.toUpperCase()} clauses are not supported by the sandbox`,
      );
    if (this.isWord('ORDER')) {
      this.i++;
      this.expectWord('BY');
      do {
        const item: OrderItem = { field: this.fieldPath(), desc: false };
        if (this.isWord('ASC')) this.i++;
        else if (this.isWord('DESC')) {
          this.i++;
          item.desc = true;
        }
        if (this.isWord('NULLS')) {
          this.i++;
          if (this.isWord('FIRST')) item.nulls = 'first';
          else if (this.isWord('LAST')) item.nulls = 'last';
          else this.fail();
          this.i++;
        }
        query.orderBy.push(item);
      } while (this.isPunct(',') && this.next());
    }
    if (this.isWord('LIMIT')) {
      this.i++;
      query.limit = this.integer();
    }
    if (this.isWord('OFFSET')) {
      this.i++;
      query.offset = this.integer();
    }
    if (this.isWord('FOR') && (this.isWord('VIEW', 1) || this.isWord('REFERENCE', 1))) this.i += 2;
    if (inner) this.expectPunct(')');
    else if (this.peek().kind !== 'eof') this.fail();
    return query;
  }

  private integer(): number {
    const t = this.next();
    if (t.kind !== 'number' || !/^\d+$/.test(t.text)) this.fail(t);
    return Number(t.text);
  }

  private stripAlias(f: FieldPath): void {
    if (this.alias && f.parts.length > 1 && f.parts[0]?.toLowerCase() === this.alias) f.parts = f.parts.slice(1);
  }

  private fieldPath(): FieldPath {
    const t = this.next();
    if (t.kind !== 'ident') this.fail(t);
    const f = { parts: t.text.split('.'), text: t.text, pos: t.pos };
    this.stripAlias(f);
    return f;
  }

  private orExpr(): Condition {
    const items = [this.andExpr()];
    while (this.isWord('OR')) {
      this.i++;
      items.push(this.andExpr());
    }
    return items.length === 1 ? (items[0] as Condition) : { kind: 'or', items };
  }

  private andExpr(): Condition {
    const items = [this.notExpr()];
    while (this.isWord('AND')) {
      this.i++;
      items.push(this.notExpr());
    }
    return items.length === 1 ? (items[0] as Condition) : { kind: 'and', items };
  }

  private notExpr(): Condition {
    if (this.isWord('NOT')) {
      this.i++;
      return { kind: 'not', item: this.notExpr() };
    }
    if (this.isPunct('(')) {
      this.i++;
      const inner = this.orExpr();
      this.expectPunct(')');
      return inner;
    }
    return this.predicate();
  }

  private predicate(): Condition {
    const field = this.fieldPath();
    const t = this.peek();
    if (t.kind === 'punct' && ['=', '!=', '<', '<=', '>', '>='].includes(t.text)) {
      this.i++;
      return { kind: 'compare', field, op: t.text as CompareOp, value: this.value() };
    }
    if (this.isWord('LIKE')) {
      this.i++;
      return { kind: 'like', field, value: this.value() };
    }
    const negated = this.isWord('NOT') || this.isWord('EXCLUDES');
    if (this.isWord('NOT')) this.i++;
    if (this.isWord('IN') || this.isWord('INCLUDES') || this.isWord('EXCLUDES')) {
      const kind = this.isWord('IN') ? 'in' : 'includes';
      this.i++;
      this.expectPunct('(');
      if (this.isWord('SELECT'))
        throw malformed(this.source, this.peek().pos, 'Semi-join subqueries are not supported by the sandbox');
      const values = [this.value()];
      while (this.isPunct(',')) {
        this.i++;
        values.push(this.value());
      }
      this.expectPunct(')');
      return { kind, field, negated, values };
    }
    return this.fail();
  }

  private value(): SoqlValue {
    const t = this.next();
    switch (t.kind) {
      case 'string':
        return { kind: 'string', value: t.text, like: t.like ?? t.text };
      case 'number':
        return { kind: 'number', value: Number(t.text) };
      case 'date':
        return { kind: 'date', value: t.text };
      case 'datetime':
        return { kind: 'datetime', value: t.text };
      case 'ident': {
        const word = t.text.toUpperCase();
        if (word === 'NULL') return { kind: 'null' };
        if (word === 'TRUE' || word === 'FALSE') return { kind: 'boolean', value: word === 'TRUE' };
        if (RELATIVE.has(word)) return { kind: 'relative', name: word, n: 1 };
        if (RELATIVE_N.has(word)) {
          this.expectPunct(':');
          const n = this.next();
          if (n.kind !== 'number' || !/^\d+$/.test(n.text)) this.fail(n);
          return { kind: 'relative', name: word, n: Number(n.text) };
        }
        return this.fail(t);
      }
      default:
        return this.fail(t);
    }
  }
}

/** Parses SOQL text; throws MALFORMED_QUERY with a position on syntax errors. */
export function parseSoql(source: string): SoqlQuery {
  return new Parser(source, tokenize(source)).parse();
}
