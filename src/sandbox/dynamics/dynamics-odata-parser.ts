/**
 * A hand-written parser for the OData `$filter` subset Dataverse accepts. Hand-written rather than a library so
 * that (1) every error message can be Dataverse's own, (2) the tree is compiled to *parameterised* SQL only — user
 * values never become SQL text — and (3) the same tree can be evaluated in memory against metadata objects.
 */

export type CompareOp = 'eq' | 'ne' | 'gt' | 'ge' | 'lt' | 'le';

export type LiteralType = 'string' | 'number' | 'boolean' | 'null' | 'guid' | 'datetime' | 'date' | 'enum';

export type FilterNode =
  | { kind: 'compare'; op: CompareOp; left: FilterNode; right: FilterNode }
  | { kind: 'and' | 'or'; left: FilterNode; right: FilterNode }
  | { kind: 'not'; expr: FilterNode }
  | { kind: 'call'; name: string; args: FilterNode[] }
  | { kind: 'property'; path: string }
  | { kind: 'literal'; type: LiteralType; value: string | number | boolean | null }
  | { kind: 'list'; items: FilterNode[] };

/** A syntax error; the message follows the OData library's wording where known. */
export class ODataSyntaxError extends Error {}

interface Token {
  kind: 'punct' | 'literal' | 'ident';
  text: string;
  pos: number;
  literal?: { type: LiteralType; value: string | number | boolean | null };
}

const GUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,7})?)?(Z|[+-]\d{2}:\d{2})/;
const DATE = /^\d{4}-\d{2}-\d{2}(?![\w:])/;
const NUMBER = /^-?\d+(\.\d+)?([eE][+-]?\d+)?[mMdDlLfF]?(?![\w.])/;
const IDENT = /^[A-Za-z_$][\w.]*(\/[A-Za-z_][\w.]*)*/;
const COMPARE_OPS = new Set(['eq', 'ne', 'gt', 'ge', 'lt', 'le']);

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const rest = text.slice(i);
    if ('(),[]='.includes(ch)) {
      tokens.push({ kind: 'punct', text: ch, pos: i });
      i++;
    } else if (ch === "'") {
      const { value, end } = readQuoted(text, i);
      tokens.push({ kind: 'literal', text: value, pos: i, literal: { type: 'string', value } });
      i = end;
    } else if (GUID.test(rest)) {
      const m = GUID.exec(rest)![0];
      tokens.push({ kind: 'literal', text: m, pos: i, literal: { type: 'guid', value: m.toLowerCase() } });
      i += m.length;
    } else if (DATETIME.test(rest)) {
      const m = DATETIME.exec(rest)![0];
      tokens.push({ kind: 'literal', text: m, pos: i, literal: { type: 'datetime', value: m } });
      i += m.length;
    } else if (DATE.test(rest)) {
      const m = DATE.exec(rest)![0];
      tokens.push({ kind: 'literal', text: m, pos: i, literal: { type: 'date', value: m } });
      i += m.length;
    } else if (NUMBER.test(rest)) {
      const m = NUMBER.exec(rest)![0];
      tokens.push({
        kind: 'literal',
        text: m,
        pos: i,
        literal: { type: 'number', value: Number(m.replace(/[mMdDlLfF]$/, '')) },
      });
      i += m.length;
    } else if (IDENT.test(rest)) {
      const m = IDENT.exec(rest)![0];
      i += m.length;
      if (text.charAt(i) === "'") {
        // An enum literal such as Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'.
        const { value, end } = readQuoted(text, i);
        tokens.push({ kind: 'literal', text: value, pos: i, literal: { type: 'enum', value } });
        i = end;
      } else if (m === 'true' || m === 'false') {
        tokens.push({ kind: 'literal', text: m, pos: i, literal: { type: 'boolean', value: m === 'true' } });
      } else if (m === 'null') {
        tokens.push({ kind: 'literal', text: m, pos: i, literal: { type: 'null', value: null } });
      } else {
        tokens.push({ kind: 'ident', text: m, pos: i - m.length });
      }
    } else {
      throw new ODataSyntaxError(`Syntax error: character '${ch}' is not valid at position ${i} in '${text}'.`);
    }
  }
  return tokens;
}

function readQuoted(text: string, start: number): { value: string; end: number } {
  let value = '';
  let i = start + 1;
  for (;;) {
    if (i >= text.length)
      throw new ODataSyntaxError(`There is an unterminated string literal at position ${start} in '${text}'.`);
    const ch = text.charAt(i);
    if (ch === "'") {
      if (text.charAt(i + 1) === "'") {
        value += "'";
        i += 2;
        continue;
      }
      return { value, end: i + 1 };
    }
    value += ch;
    i++;
  }
}

class Parser {
  private index = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly text: string,
  ) {}

  parse(): FilterNode {
    if (this.tokens.length === 0) throw new ODataSyntaxError(`Expression expected at position 0 in '${this.text}'.`);
    const node = this.parseOr();
    const extra = this.tokens[this.index];
    if (extra) throw new ODataSyntaxError(`Syntax error at position ${extra.pos} in '${this.text}'.`);
    return node;
  }

  private peek(): Token | undefined {
    return this.tokens[this.index];
  }

  private isKeyword(word: string): boolean {
    const t = this.peek();
    return t?.kind === 'ident' && t.text === word;
  }

  private expect(text: string): void {
    const t = this.peek();
    if (!t || t.kind !== 'punct' || t.text !== text) {
      throw new ODataSyntaxError(
        `')' or operator expected at position ${t?.pos ?? this.text.length} in '${this.text}'.`,
      );
    }
    this.index++;
  }

  private parseOr(): FilterNode {
    let left = this.parseAnd();
    while (this.isKeyword('or')) {
      this.index++;
      left = { kind: 'or', left, right: this.parseAnd() };
    }
    return left;
  }

  private parseAnd(): FilterNode {
    let left = this.parseUnary();
    while (this.isKeyword('and')) {
      this.index++;
      left = { kind: 'and', left, right: this.parseUnary() };
    }
    return left;
  }

  private parseUnary(): FilterNode {
    if (this.isKeyword('not')) {
      this.index++;
      return { kind: 'not', expr: this.parseUnary() };
    }
    const left = this.parsePrimary();
    const t = this.peek();
    if (t?.kind === 'ident' && COMPARE_OPS.has(t.text)) {
      this.index++;
      return { kind: 'compare', op: t.text as CompareOp, left, right: this.parsePrimary() };
    }
    return left;
  }

  private parsePrimary(): FilterNode {
    const t = this.peek();
    if (!t) throw new ODataSyntaxError(`Expression expected at position ${this.text.length} in '${this.text}'.`);
    this.index++;
    if (t.kind === 'punct' && t.text === '(') {
      const inner = this.parseOr();
      this.expect(')');
      return inner;
    }
    if (t.kind === 'punct' && t.text === '[') {
      const items: FilterNode[] = [];
      while (!(this.peek()?.kind === 'punct' && this.peek()?.text === ']')) {
        items.push(this.parsePrimary());
        if (this.peek()?.text === ',') this.index++;
        else break;
      }
      this.expect(']');
      return { kind: 'list', items };
    }
    if (t.kind === 'literal' && t.literal) return { kind: 'literal', ...t.literal };
    if (t.kind === 'ident') {
      if (['and', 'or', ...COMPARE_OPS].includes(t.text)) {
        throw new ODataSyntaxError(`Expression expected at position ${t.pos} in '${this.text}'.`);
      }
      const next = this.peek();
      if (next?.kind === 'punct' && next.text === '(') {
        this.index++;
        const args: FilterNode[] = [];
        if (!(this.peek()?.kind === 'punct' && this.peek()?.text === ')')) {
          for (;;) {
            args.push(this.parseArgument());
            if (this.peek()?.kind === 'punct' && this.peek()?.text === ',') {
              this.index++;
              continue;
            }
            break;
          }
        }
        this.expect(')');
        return { kind: 'call', name: t.text, args };
      }
      return { kind: 'property', path: t.text };
    }
    throw new ODataSyntaxError(`Syntax error at position ${t.pos} in '${this.text}'.`);
  }

  /** Dataverse query functions take named arguments (PropertyName='x'); names are dropped, order kept. */
  private parseArgument(): FilterNode {
    const t = this.peek();
    const after = this.tokens[this.index + 1];
    if (t?.kind === 'ident' && after?.kind === 'punct' && after.text === '=') this.index += 2;
    return this.parseOr();
  }
}

/** Parses a `$filter` value into a tree; throws ODataSyntaxError on malformed input. */
export function parseFilter(text: string): FilterNode {
  return new Parser(tokenize(text), text).parse();
}

/** Splits a comma list at top level (ignoring commas inside parentheses and quotes), for $select/$expand/$orderby. */
export function splitTopLevel(text: string, separator = ','): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let current = '';
  for (const ch of text) {
    if (ch === "'") quoted = !quoted;
    if (!quoted && ch === '(') depth++;
    if (!quoted && ch === ')') depth--;
    if (!quoted && depth === 0 && ch === separator) {
      parts.push(current.trim());
      current = '';
    } else current += ch;
  }
  if (current.trim() !== '') parts.push(current.trim());
  return parts;
}
