import { describe, expect, it } from 'vitest';
import { FilterSyntaxError, filterFields, parseFilter } from '../../src/crm/filter-parse.js';

describe('filter text syntax', () => {
  it('parses every comparison operator and value kind', () => {
    expect(parseFilter("email = 'a@b.c'")).toEqual({ kind: 'compare', field: 'email', op: '=', value: 'a@b.c' });
    expect(parseFilter('age != 3')).toMatchObject({ op: '!=', value: 3 });
    expect(parseFilter('age <> 3')).toMatchObject({ op: '!=', value: 3 });
    expect(parseFilter('score < -1.5')).toMatchObject({ op: '<', value: -1.5 });
    expect(parseFilter('score <= 2e3')).toMatchObject({ op: '<=', value: 2000 });
    expect(parseFilter('score > 0')).toMatchObject({ op: '>', value: 0 });
    expect(parseFilter('created_at >= 2024-01-15')).toMatchObject({ op: '>=', value: { date: '2024-01-15' } });
    expect(parseFilter("created_at >= date'2024-01-15'")).toMatchObject({ value: { date: '2024-01-15' } });
    expect(parseFilter('modified > 2024-01-15T10:30:00Z')).toMatchObject({
      value: { datetime: '2024-01-15T10:30:00Z' },
    });
    expect(parseFilter("modified > datetime'2024-01-15T10:30:00+02:00'")).toMatchObject({
      value: { datetime: '2024-01-15T10:30:00+02:00' },
    });
    expect(parseFilter('opt_out = true')).toMatchObject({ value: true });
    expect(parseFilter('opt_out = FALSE')).toMatchObject({ value: false });
  });

  it('reads doubled quotes as one quote and leaves backslashes alone', () => {
    expect(parseFilter("last_name = 'O''Brien'")).toMatchObject({ value: "O'Brien" });
    expect(parseFilter("path = 'C:\\temp'")).toMatchObject({ value: 'C:\\temp' });
    expect(parseFilter("email = 'x'' or 1=1 --'")).toEqual({
      kind: 'compare',
      field: 'email',
      op: '=',
      value: "x' or 1=1 --",
    });
  });

  it('nests and/or/not with parentheses and the usual precedence', () => {
    const expr = parseFilter('not (a = 1 or b = 2) and c = 3 or d is null');
    expect(expr).toEqual({
      kind: 'or',
      args: [
        {
          kind: 'and',
          args: [
            {
              kind: 'not',
              arg: {
                kind: 'or',
                args: [
                  { kind: 'compare', field: 'a', op: '=', value: 1 },
                  { kind: 'compare', field: 'b', op: '=', value: 2 },
                ],
              },
            },
            { kind: 'compare', field: 'c', op: '=', value: 3 },
          ],
        },
        { kind: 'null', field: 'd' },
      ],
    });
    expect(filterFields(expr)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('parses in, not in, like, not like, is null, is not null (keywords in any case)', () => {
    expect(parseFilter("country IN ('FR', 'BE')")).toEqual({ kind: 'in', field: 'country', values: ['FR', 'BE'] });
    expect(parseFilter('n not in (1, 2)')).toEqual({ kind: 'in', field: 'n', values: [1, 2], negate: true });
    expect(parseFilter("email like '%@example.com'")).toEqual({
      kind: 'like',
      field: 'email',
      pattern: '%@example.com',
    });
    expect(parseFilter("email NOT LIKE 'a%'")).toEqual({ kind: 'like', field: 'email', pattern: 'a%', negate: true });
    expect(parseFilter('phone is null')).toEqual({ kind: 'null', field: 'phone' });
    expect(parseFilter('phone is not null')).toEqual({ kind: 'null', field: 'phone', negate: true });
  });

  it('replaces run variables by values, never by text', () => {
    const expr = parseFilter('modified_at >= ${vars.since}', {
      resolveVar: (name) => (name === 'since' ? "x' or 1=1" : undefined),
    });
    expect(expr).toEqual({ kind: 'compare', field: 'modified_at', op: '>=', value: "x' or 1=1" });
    expect(() => parseFilter('a = ${vars.missing}')).toThrow(/run variable "missing" is not set/);
  });

  it.each([
    ["email = 'abc", 9, /unterminated string/],
    ['email = ', 9, /expected a value but found the end/],
    ['email == 1', 8, /expected a value/],
    ['(a = 1 and b = 2', 17, /expected "\)"/],
    ['a = 1 b = 2', 7, /expected "and", "or" or the end/],
    ['a = 2024-13-45', 5, /not a real calendar date|not a valid/],
    ['a in 1', 6, /expected "\(" after "in"/],
    ['a like 5', 8, /quoted pattern/],
    ['a is nul', 6, /expected "null"/],
    ['a = null', 5, /is null/],
    ['a = name', 5, /quote strings/],
    ['a # 1', 3, /unexpected character "#"/],
    ['= 1', 1, /expected a field name/],
    ['', 1, /empty/],
    ['a = 12abc', 7, /after number/],
  ])('reports %j at column %i', (text, column, message) => {
    let caught: unknown;
    try {
      parseFilter(text);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(FilterSyntaxError);
    expect((caught as FilterSyntaxError).column).toBe(column);
    expect((caught as FilterSyntaxError).message).toMatch(message);
    expect((caught as FilterSyntaxError).code).toBe('invalid_input');
  });
});
