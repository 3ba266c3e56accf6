import { SfApiError } from './schema-types.js';

/**
 * SOQL tokens. The sandbox parses SOQL itself (hand-written lexer + recursive-descent parser): the npm SOQL parsers
 * we looked at are either browser-oriented ANTLR builds, unmaintained, or too loose about literals to reproduce
 * Salesforce's errors, and the grammar subset needed here is small.
 */
export type TokenKind = 'ident' | 'string' | 'number' | 'date' | 'datetime' | 'punct' | 'eof';

export interface Token {
  kind: TokenKind;
  /** Identifiers and punctuation as written; strings unescaped; numbers and dates as written. */
  text: string;
  /** For strings: the value as a SQLite LIKE pattern with `\` as the escape character. */
  like?: string;
  pos: number;
}

const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', b: '\b', f: '\f', '"': '"', "'": "'", '\\': '\\' };
const DATE_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:?\d{2})?)?/;

/** The MALFORMED_QUERY error, with Salesforce's `ERROR at Row:1:Column:N` locator. */
export function malformed(source: string, pos: number, detail: string): SfApiError {
  const before = source.slice(0, pos);
  const row = before.split('\n').length;
  const column = pos - before.lastIndexOf('\n');
  return new SfApiError(400, 'MALFORMED_QUERY', `ERROR at Row:${row}:Column:${column}\n${detail}`);
}

export function tokenize(source: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < source.length) {
    const c = source[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const start = i;
    if (c === "'") {
      let value = '';
      let like = '';
      i++;
      for (;;) {
        if (i >= source.length)
          throw malformed(source, start, `line 1:${start} mismatched character '<EOF>' expecting '''`);
        const ch = source[i] as string;
        if (ch === "'") break;
        if (ch === '\\') {
          const next = source[i + 1] ?? '';
          if (next === '%' || next === '_') {
            value += '\\' + next;
            like += '\\' + next;
          } else if (next in ESCAPES) {
            const v = ESCAPES[next] as string;
            value += v;
            like += v === '\\' ? '\\\\' : v;
          } else {
            throw malformed(
              source,
              i,
              `Invalid string literal '${source.slice(start, i + 2)}'. Illegal character sequence '\\${next}' in string literal.`,
            );
          }
          i += 2;
          continue;
        }
        value += ch;
        like += ch;
        i++;
      }
      i++;
      tokens.push({ kind: 'string', text: value, like, pos: start });
      continue;
    }
    const dt = /\d/.test(c) ? DATE_TIME.exec(source.slice(i)) : null;
    if (dt) {
      if (dt[1] && !dt[3]) throw malformed(source, start, `line 1:${start} no viable alternative at character ' '`);
      tokens.push({ kind: dt[1] ? 'datetime' : 'date', text: dt[0], pos: start });
      i += dt[0].length;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(source.slice(i));
    if (num && (c !== '-' || /\d/.test(source[i + 1] ?? ''))) {
      tokens.push({ kind: 'number', text: num[0], pos: start });
      i += num[0].length;
      continue;
    }
    const ident = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*/.exec(source.slice(i));
    if (ident) {
      tokens.push({ kind: 'ident', text: ident[0], pos: start });
      i += ident[0].length;
      continue;
    }
    const two = source.slice(i, i + 2);
    if (two === '!=' || two === '<=' || two === '>=' || two === '<>') {
      tokens.push({ kind: 'punct', text: two === '<>' ? '!=' : two, pos: start });
      i += 2;
      continue;
    }
    if ('(),=<>:'.includes(c)) {
      tokens.push({ kind: 'punct', text: c, pos: start });
      i++;
      continue;
    }
    throw malformed(source, start, `line 1:${start} no viable alternative at character '${c}'`);
  }
  tokens.push({ kind: 'eof', text: '<EOF>', pos: source.length });
  return tokens;
}
