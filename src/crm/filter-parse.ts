import { LiaisonError } from '../core/errors.js';
import type { ComparisonOperator, FilterExpr, FilterValue } from './filter.js';

/**
 * The one text syntax for filters (query activity, CRM connector), parsed to the neutral `FilterExpr`.
 *
 * Grammar (keywords case-insensitive):
 *   expr     := or
 *   or       := and ('or' and)*
 *   and      := unary ('and' unary)*
 *   unary    := 'not' unary | '(' expr ')' | predicate
 *   predicate:= field op value | field ['not'] 'in' '(' value (',' value)* ')' | field ['not'] 'like' string
 *             | field 'is' ['not'] 'null'
 *   op       := = | != | <> | < | <= | > | >=
 *   value    := 'string' | number | true | false | 2024-01-15 | 2024-01-15T10:00:00Z | date'…' | datetime'…'
 *             | ${vars.name}
 * Strings are single-quoted; a quote inside is doubled (`'O''Brien'`), as in SQL. Backslash has no special meaning,
 * so a value never changes how the rest of the text is read. `${vars.name}` is replaced by a run variable's value
 * (a value, never text). Errors name the 1-based column.
 *
 * @example parseFilter("country in ('FR','BE') and not email like '%@test.%'")
 */
export { filterFields } from './filter.js';

export interface ParseFilterOptions {
  /** Value of `${vars.NAME}`; absent → a reference is an error. Validation can pass `() => null`. */
  resolveVar?: (name: string) => FilterValue | undefined;
}

/** A filter syntax error; `column` is 1-based within the filter text. */
export class FilterSyntaxError extends LiaisonError {
  readonly column: number;
  constructor(message: string, column: number) {
    super('invalid_input', `filter column ${column}: ${message}`, { details: { column } });
    this.column = column;
  }
}

type Token =
  | { kind: 'ident'; text: string; pos: number }
  | { kind: 'string'; text: string; pos: number }
  | { kind: 'number'; value: number; pos: number }
  | { kind: 'date'; value: string; pos: number }
  | { kind: 'datetime'; value: string; pos: number }
  | { kind: 'var'; name: string; pos: number }
  | { kind: 'op'; text: string; pos: number }
  | { kind: 'punct'; text: '(' | ')' | ','; pos: number }
  | { kind: 'eof'; pos: number };

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATETIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?$/;

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const ch = text[i]!;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === "'") {
      tokens.push({ kind: 'string', text: readString(text, i, (end) => (i = end)), pos: start });
      continue;
    }
    if (ch === '(' || ch === ')' || ch === ',') {
      tokens.push({ kind: 'punct', text: ch, pos: start });
      i++;
      continue;
    }
    const op = /^(<=|>=|<>|!=|=|<|>)/.exec(text.slice(i));
    if (op) {
      tokens.push({ kind: 'op', text: op[1] === '<>' ? '!=' : op[1]!, pos: start });
      i += op[1]!.length;
      continue;
    }
    if (ch === '$') {
      const m = /^\$\{vars\.([A-Za-z_][A-Za-z0-9_]*)\}/.exec(text.slice(i));
      if (!m) throw new FilterSyntaxError('expected a run variable like ${vars.name}', start + 1);
      tokens.push({ kind: 'var', name: m[1]!, pos: start });
      i += m[0].length;
      continue;
    }
    const temporal = /^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-]\d{2}:?\d{2})?)?/.exec(text.slice(i));
    if (temporal) {
      const value = temporal[0];
      checkTemporal(value, start);
      tokens.push(value.includes('T') ? { kind: 'datetime', value, pos: start } : { kind: 'date', value, pos: start });
      i += value.length;
      continue;
    }
    const num = /^-?(\d+(\.\d+)?|\.\d+)([eE][+-]?\d+)?/.exec(text.slice(i));
    if (num && (ch !== '-' || /[\d.]/.test(text[i + 1] ?? ''))) {
      const after = text[i + num[0].length];
      if (after !== undefined && /[A-Za-z_]/.test(after))
        throw new FilterSyntaxError(`unexpected "${after}" after number`, i + num[0].length + 1);
      tokens.push({ kind: 'number', value: Number(num[0]), pos: start });
      i += num[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(text.slice(i));
    if (ident) {
      i += ident[0].length;
      const lower = ident[0].toLowerCase();
      if ((lower === 'date' || lower === 'datetime') && text[i] === "'") {
        const quoteAt = i;
        const literal = readString(text, i, (end) => (i = end));
        checkTemporal(literal, quoteAt, lower);
        tokens.push(
          lower === 'date'
            ? { kind: 'date', value: literal, pos: start }
            : { kind: 'datetime', value: literal, pos: start },
        );
        continue;
      }
      tokens.push({ kind: 'ident', text: ident[0], pos: start });
      continue;
    }
    throw new FilterSyntaxError(`unexpected character "${ch}"`, start + 1);
  }
  tokens.push({ kind: 'eof', pos: text.length });
  return tokens;
}

function readString(text: string, start: number, setEnd: (end: number) => void): string {
  let out = '';
  let i = start + 1;
  for (;;) {
    if (i >= text.length)
      throw new FilterSyntaxError("unterminated string (close it with ' ; write '' for a quote inside)", start + 1);
    const ch = text[i]!;
    if (ch === "'") {
      if (text[i + 1] === "'") {
        out += "'";
        i += 2;
        continue;
      }
      setEnd(i + 1);
      return out;
    }
    out += ch;
    i++;
  }
}

function checkTemporal(value: string, pos: number, expected?: 'date' | 'datetime'): void {
  const isDate = DATE.test(value);
  const isDateTime = DATETIME.test(value);
  if (expected === 'date' ? !isDate : expected === 'datetime' ? !isDateTime : !isDate && !isDateTime) {
    throw new FilterSyntaxError(
      `"${value}" is not a valid ${expected ?? 'date or datetime'} (use 2024-01-15 or 2024-01-15T10:30:00Z)`,
      pos + 1,
    );
  }
  if (Number.isNaN(Date.parse(value.length === 10 ? `${value}T00:00:00Z` : value))) {
    throw new FilterSyntaxError(`"${value}" is not a real calendar date`, pos + 1);
  }
}

const KEYWORDS = new Set(['and', 'or', 'not', 'in', 'like', 'is', 'null', 'true', 'false']);

class Parser {
  private index = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly options: ParseFilterOptions,
  ) {}

  parse(): FilterExpr {
    const expr = this.or();
    const next = this.peek();
    if (next.kind !== 'eof') throw this.error(next, `unexpected ${describe(next)}; expected "and", "or" or the end`);
    return expr;
  }

  private peek(): Token {
    return this.tokens[this.index]!;
  }
  private next(): Token {
    return this.tokens[this.index++]!;
  }
  private isKeyword(word: string, offset = 0): boolean {
    const token = this.tokens[this.index + offset];
    return token?.kind === 'ident' && token.text.toLowerCase() === word;
  }
  private error(token: Token, message: string): FilterSyntaxError {
    return new FilterSyntaxError(message, token.pos + 1);
  }

  private or(): FilterExpr {
    const args = [this.and()];
    while (this.isKeyword('or')) {
      this.next();
      args.push(this.and());
    }
    return args.length === 1 ? args[0]! : { kind: 'or', args };
  }

  private and(): FilterExpr {
    const args = [this.unary()];
    while (this.isKeyword('and')) {
      this.next();
      args.push(this.unary());
    }
    return args.length === 1 ? args[0]! : { kind: 'and', args };
  }

  private unary(): FilterExpr {
    if (this.isKeyword('not')) {
      this.next();
      return { kind: 'not', arg: this.unary() };
    }
    const token = this.peek();
    if (token.kind === 'punct' && token.text === '(') {
      this.next();
      const inner = this.or();
      const close = this.next();
      if (close.kind !== 'punct' || close.text !== ')')
        throw this.error(close, `expected ")" but found ${describe(close)}`);
      return inner;
    }
    return this.predicate();
  }

  private predicate(): FilterExpr {
    const fieldToken = this.next();
    if (fieldToken.kind !== 'ident' || KEYWORDS.has(fieldToken.text.toLowerCase())) {
      throw this.error(fieldToken, `expected a field name but found ${describe(fieldToken)}`);
    }
    const field = fieldToken.text;
    const token = this.peek();
    if (token.kind === 'op') {
      this.next();
      return { kind: 'compare', field, op: token.text as ComparisonOperator, value: this.value() };
    }
    let negate = false;
    if (this.isKeyword('not') && (this.isKeyword('in', 1) || this.isKeyword('like', 1))) {
      this.next();
      negate = true;
    }
    if (this.isKeyword('in')) {
      this.next();
      const open = this.next();
      if (open.kind !== 'punct' || open.text !== '(')
        throw this.error(open, `expected "(" after "in" but found ${describe(open)}`);
      const values = [this.value()];
      for (;;) {
        const sep = this.next();
        if (sep.kind === 'punct' && sep.text === ')') break;
        if (sep.kind !== 'punct' || sep.text !== ',')
          throw this.error(sep, `expected "," or ")" in the "in" list but found ${describe(sep)}`);
        values.push(this.value());
      }
      return negate ? { kind: 'in', field, values, negate } : { kind: 'in', field, values };
    }
    if (this.isKeyword('like')) {
      this.next();
      const pattern = this.next();
      if (pattern.kind !== 'string')
        throw this.error(pattern, `expected a quoted pattern after "like" but found ${describe(pattern)}`);
      return negate
        ? { kind: 'like', field, pattern: pattern.text, negate }
        : { kind: 'like', field, pattern: pattern.text };
    }
    if (this.isKeyword('is')) {
      this.next();
      let isNot = false;
      if (this.isKeyword('not')) {
        this.next();
        isNot = true;
      }
      const nullToken = this.next();
      if (!(nullToken.kind === 'ident' && nullToken.text.toLowerCase() === 'null')) {
        throw this.error(
          nullToken,
          `expected "null" after "is${isNot ? ' not' : ''}" but found ${describe(nullToken)}`,
        );
      }
      return isNot ? { kind: 'null', field, negate: true } : { kind: 'null', field };
    }
    throw this.error(
      token,
      `expected an operator (=, !=, <, <=, >, >=, in, not in, like, is null) after "${field}" but found ${describe(token)}`,
    );
  }

  private value(): FilterValue {
    const token = this.next();
    switch (token.kind) {
      case 'string':
        return token.text;
      case 'number':
        return token.value;
      case 'date':
        return { date: token.value };
      case 'datetime':
        return { datetime: token.value };
      case 'var': {
        const value = this.options.resolveVar?.(token.name);
        if (value === undefined)
          throw this.error(token, `run variable "${token.name}" is not set (an earlier activity must publish it)`);
        return value;
      }
      case 'ident': {
        const word = token.text.toLowerCase();
        if (word === 'true') return true;
        if (word === 'false') return false;
        if (word === 'null') throw this.error(token, 'compare with null using "is null" or "is not null"');
        throw this.error(token, `expected a value but found the name "${token.text}" (quote strings: '${token.text}')`);
      }
      default:
        throw this.error(token, `expected a value but found ${describe(token)}`);
    }
  }
}

function describe(token: Token): string {
  switch (token.kind) {
    case 'eof':
      return 'the end of the filter';
    case 'string':
      return 'a string';
    case 'number':
      return `the number ${token.value}`;
    case 'date':
    case 'datetime':
      return `the ${token.kind} ${token.value}`;
    case 'var':
      return `\${vars.${token.name}}`;
    default:
      return `"${token.text}"`;
  }
}

/** Parses filter text; throws `FilterSyntaxError` (code invalid_input) naming the column of the problem. */
export function parseFilter(text: string, options: ParseFilterOptions = {}): FilterExpr {
  const tokens = tokenize(text);
  if (tokens.length === 1) throw new FilterSyntaxError('the filter is empty', 1);
  return new Parser(tokens, options).parse();
}
