import { describe, expect, it } from 'vitest';
import {
  alternateKeyPath,
  compileFilter,
  compileQuery,
  MAX_URL_LENGTH,
  stringLiteral,
} from '../../src/crm/dynamics/dynamics-odata.js';
import type { FilterExpr } from '../../src/crm/filter.js';
import { contactMeta } from './dynamics-fixtures.js';

const f = (expr: FilterExpr) => compileFilter(contactMeta, expr);
const decodedQuery = (url: string) => {
  const [, query = ''] = url.split('?');
  return Object.fromEntries(
    query.split('&').map((pair) => {
      const eq = pair.indexOf('=');
      return [pair.slice(0, eq), decodeURIComponent(pair.slice(eq + 1))];
    }),
  );
};
const guid = '5a1f0c2e-1234-4bcd-8ef0-00000000abcd';

describe('OData filter compiler', () => {
  it('compiles comparisons for each column type', () => {
    expect(f({ kind: 'compare', field: 'lastname', op: '=', value: 'Obi' })).toBe("lastname eq 'Obi'");
    expect(f({ kind: 'compare', field: 'LastName', op: '!=', value: 'Obi' })).toBe("lastname ne 'Obi'");
    expect(f({ kind: 'compare', field: 'numberofchildren', op: '>=', value: 2 })).toBe('numberofchildren ge 2');
    expect(f({ kind: 'compare', field: 'creditlimit', op: '<', value: 1500.5 })).toBe('creditlimit lt 1500.5');
    expect(f({ kind: 'compare', field: 'donotemail', op: '=', value: false })).toBe('donotemail eq false');
    expect(f({ kind: 'compare', field: 'birthdate', op: '>', value: { date: '1990-01-31' } })).toBe(
      'birthdate gt 1990-01-31',
    );
    expect(
      f({ kind: 'compare', field: 'modifiedon', op: '<=', value: { datetime: '2024-01-15T12:20:30+02:00' } }),
    ).toBe('modifiedon le 2024-01-15T10:20:30Z');
    // Whole-second values on the wire: fractional bounds round so that the visible values compare as asked.
    expect(f({ kind: 'compare', field: 'modifiedon', op: '>=', value: '2024-01-15T10:20:30.001Z' })).toBe(
      'modifiedon ge 2024-01-15T10:20:31Z',
    );
    expect(f({ kind: 'compare', field: 'modifiedon', op: '<', value: '2024-01-15T10:20:30.001Z' })).toBe(
      'modifiedon lt 2024-01-15T10:20:31Z',
    );
    expect(f({ kind: 'compare', field: 'modifiedon', op: '>', value: '2024-01-15T10:20:30.999Z' })).toBe(
      'modifiedon gt 2024-01-15T10:20:30Z',
    );
    expect(f({ kind: 'compare', field: 'modifiedon', op: '<=', value: '2024-01-15T10:20:30.999Z' })).toBe(
      'modifiedon le 2024-01-15T10:20:30Z',
    );
    expect(f({ kind: 'compare', field: 'modifiedon', op: '=', value: '2024-01-15T10:20:30.250Z' })).toBe(
      'modifiedon eq 2024-01-15T10:20:30.250Z',
    );
    expect(f({ kind: 'compare', field: 'preferredcontactmethodcode', op: '=', value: '2' })).toBe(
      'preferredcontactmethodcode eq 2',
    );
    expect(f({ kind: 'compare', field: 'contactid', op: '=', value: guid.toUpperCase() })).toBe(`contactid eq ${guid}`);
  });

  it('filters lookups through their _x_value property', () => {
    expect(f({ kind: 'compare', field: 'parentcustomerid', op: '=', value: guid })).toBe(
      `_parentcustomerid_value eq ${guid}`,
    );
    expect(f({ kind: 'null', field: 'ownerid', negate: true })).toBe('_ownerid_value ne null');
  });

  it('compiles and/or/not, in, null', () => {
    expect(
      f({
        kind: 'and',
        args: [
          { kind: 'compare', field: 'lastname', op: '=', value: 'A' },
          {
            kind: 'or',
            args: [
              { kind: 'null', field: 'firstname' },
              { kind: 'not', arg: { kind: 'compare', field: 'numberofchildren', op: '=', value: 0 } },
            ],
          },
        ],
      }),
    ).toBe("(lastname eq 'A') and ((firstname eq null) or (not (numberofchildren eq 0)))");
    expect(f({ kind: 'in', field: 'lastname', values: ['A', "O'Hara"] })).toBe(
      "(lastname eq 'A' or lastname eq 'O''Hara')",
    );
    expect(f({ kind: 'in', field: 'statecode', values: [0, 1], negate: true })).toBe(
      'not (statecode eq 0 or statecode eq 1)',
    );
    expect(f({ kind: 'compare', field: 'firstname', op: '=', value: null })).toBe('firstname eq null');
  });

  it('maps like patterns to string functions and refuses the rest', () => {
    expect(f({ kind: 'like', field: 'lastname', pattern: 'Ob%' })).toBe("startswith(lastname,'Ob')");
    expect(f({ kind: 'like', field: 'lastname', pattern: '%bi' })).toBe("endswith(lastname,'bi')");
    expect(f({ kind: 'like', field: 'emailaddress1', pattern: '%@example.com%' })).toBe(
      "contains(emailaddress1,'@example.com')",
    );
    expect(f({ kind: 'like', field: 'lastname', pattern: 'Obi' })).toBe("lastname eq 'Obi'");
    expect(f({ kind: 'like', field: 'lastname', pattern: '%', negate: true })).toBe('not (lastname ne null)');
    expect(f({ kind: 'like', field: 'lastname', pattern: "O'%", negate: true })).toBe(
      "not (startswith(lastname,'O'''))",
    );
    // Dataverse treats [ as a LIKE wildcard inside string functions, so it is bracket-escaped.
    expect(f({ kind: 'like', field: 'lastname', pattern: '%[x]%' })).toBe("contains(lastname,'[[]x]')");
    for (const pattern of ['a%b', '%a%b%', 'a_c%', '']) {
      expect(() => f({ kind: 'like', field: 'lastname', pattern })).toThrow(
        expect.objectContaining({ code: 'not_supported' }),
      );
    }
    expect(() => f({ kind: 'like', field: 'numberofchildren', pattern: '1%' })).toThrow(
      expect.objectContaining({ code: 'invalid_input' }),
    );
  });

  it('keeps injection attempts inside the literal', () => {
    const evil = "x' or lastname ne '";
    const out = f({ kind: 'compare', field: 'lastname', op: '=', value: evil });
    expect(out).toBe("lastname eq 'x'' or lastname ne '''");
    // The literal is one token: after removing it nothing but the comparison remains.
    expect(out.replace(stringLiteral(evil), 'V')).toBe('lastname eq V');
    expect(f({ kind: 'like', field: 'lastname', pattern: `%${evil}%` })).toBe(
      "contains(lastname,'x'' or lastname ne ''')",
    );
  });

  it('refuses unknown fields and values of the wrong type', () => {
    expect(() => f({ kind: 'compare', field: 'lastname eq 1 or x', op: '=', value: 'a' })).toThrow(
      expect.objectContaining({ code: 'field_not_found' }),
    );
    const bad: [string, unknown][] = [
      ['numberofchildren', '1 or 1 eq 1'],
      ['numberofchildren', 1.5],
      ['creditlimit', 'NaN'],
      ['creditlimit', Infinity],
      ['donotemail', 'true'],
      ['contactid', "x' or 1 eq 1"],
      ['parentcustomerid', '123'],
      ['birthdate', '2024-13-45'],
      ['birthdate', '1990-01-01 or 1 eq 1'],
      ['modifiedon', '2024-01-01T00:00:00'],
      ['modifiedon', 'yesterday'],
      ['lastname', 5],
    ];
    for (const [field, value] of bad) {
      expect(() => f({ kind: 'compare', field, op: '=', value: value as string }), `${field}=${String(value)}`).toThrow(
        expect.objectContaining({ code: 'invalid_input' }),
      );
    }
    expect(() => f({ kind: 'compare', field: 'lastname', op: '<', value: null })).toThrow(
      expect.objectContaining({ code: 'invalid_input' }),
    );
    expect(() => f({ kind: 'compare', field: 'lia_interests', op: '=', value: '1' })).toThrow(
      expect.objectContaining({ code: 'not_supported' }),
    );
    expect(() => f({ kind: 'in', field: 'lastname', values: [] })).toThrow(
      expect.objectContaining({ code: 'invalid_input' }),
    );
    expect(() => f({ kind: 'and', args: [] })).toThrow(expect.objectContaining({ code: 'invalid_input' }));
  });
});

describe('OData query compiler', () => {
  it('selects id, modstamp and lookups as _x_value, encodes the whole query string', () => {
    const [url] = compileQuery(contactMeta, {
      object: 'contact',
      fields: ['lastname', 'parentcustomerid', 'LastName'],
      filter: { kind: 'compare', field: 'lastname', op: '=', value: 'a&b=c#d+e;f' },
      orderBy: [
        { field: 'lastname', direction: 'desc' },
        { field: 'parentcustomerid', direction: 'asc' },
      ],
      limit: 10,
    });
    expect(url).toMatch(/^contacts\?/);
    expect(url).not.toMatch(/[ #+;'&]c/);
    expect(url!.split('&')).toHaveLength(4);
    expect(decodedQuery(url!)).toEqual({
      $select: 'contactid,modifiedon,lastname,_parentcustomerid_value',
      $filter: "lastname eq 'a&b=c#d+e;f'",
      $orderby: 'lastname desc,_parentcustomerid_value asc',
      $top: '10',
    });
  });

  it('turns modifiedSince into a half-open window', () => {
    const [url] = compileQuery(contactMeta, {
      object: 'contact',
      fields: [],
      modifiedSince: { from: '2024-01-01T00:00:00Z', to: '2024-02-01T00:00:00.000Z' },
      filter: { kind: 'null', field: 'firstname' },
    });
    expect(decodedQuery(url!).$filter).toBe(
      '(firstname eq null) and (modifiedon ge 2024-01-01T00:00:00Z) and (modifiedon lt 2024-02-01T00:00:00Z)',
    );
  });

  it('splits id lists into chunks that keep each URL short', () => {
    const ids = Array.from({ length: 1000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);
    const urls = compileQuery(contactMeta, {
      object: 'contact',
      fields: ['lastname'],
      ids,
      filter: { kind: 'compare', field: 'lastname', op: '!=', value: 'x' },
    });
    expect(urls.length).toBeGreaterThan(1);
    const seen: string[] = [];
    for (const url of urls) {
      expect(url.length + 60).toBeLessThanOrEqual(MAX_URL_LENGTH);
      const filter = decodedQuery(url).$filter as string;
      expect(filter.startsWith("(lastname ne 'x') and (contactid eq ")).toBe(true);
      seen.push(...[...filter.matchAll(/contactid eq ([0-9a-f-]{36})/g)].map((m) => m[1]!));
    }
    expect(seen).toEqual(ids);
    expect(compileQuery(contactMeta, { object: 'contact', fields: [], ids: [] })).toEqual([]);
    expect(() => compileQuery(contactMeta, { object: 'contact', fields: [], ids: ["x') or (1 eq 1"] })).toThrow(
      expect.objectContaining({ code: 'invalid_input' }),
    );
  });

  it('refuses unknown select and order fields and bad limits', () => {
    expect(() => compileQuery(contactMeta, { object: 'contact', fields: ['lastname,fullname'] })).toThrow(
      expect.objectContaining({ code: 'field_not_found' }),
    );
    expect(() =>
      compileQuery(contactMeta, { object: 'contact', fields: [], orderBy: [{ field: 'x desc', direction: 'asc' }] }),
    ).toThrow(expect.objectContaining({ code: 'field_not_found' }));
    expect(() => compileQuery(contactMeta, { object: 'contact', fields: [], limit: 0 })).toThrow(
      expect.objectContaining({ code: 'invalid_input' }),
    );
  });

  it('addresses alternate keys with the value escaped', () => {
    expect(alternateKeyPath(contactMeta, 'lia_customernumber', "A'1/2")).toBe(
      `contacts(lia_customernumber=${encodeURIComponent("'A''1/2'")})`,
    );
    expect(() => alternateKeyPath(contactMeta, 'lia_customernumber', '')).toThrow(
      expect.objectContaining({ code: 'invalid_input' }),
    );
    expect(() => alternateKeyPath(contactMeta, 'nope', 'x')).toThrow(
      expect.objectContaining({ code: 'field_not_found' }),
    );
  });
});
