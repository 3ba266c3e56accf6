import { describe, expect, it } from 'vitest';
import { isLiaisonError } from '../../src/core/errors.js';
import type { FilterExpr } from '../../src/crm/filter.js';
import type { FieldMetadata, FieldType } from '../../src/crm/metadata.js';
import {
  checkId,
  compileFilter,
  compileSelect,
  idConditions,
  soqlDate,
  soqlDateTime,
  soqlString,
  type ResolvedField,
} from '../../src/crm/salesforce/salesforce-soql.js';

function field(name: string, type: FieldType): FieldMetadata {
  return { name, label: name, type, crmType: type, nillable: true, createable: true, updateable: true };
}

const FIELDS: FieldMetadata[] = [
  field('Id', 'id'),
  field('LastName', 'string'),
  field('Email', 'email'),
  field('HasOptedOutOfEmail', 'boolean'),
  field('NumberOfEmployees', 'integer'),
  field('Score__c', 'decimal'),
  field('Birthdate', 'date'),
  field('SystemModstamp', 'datetime'),
  field('MailingAddress', 'address'),
];

/** Case-insensitive resolver like the driver's, plus one relationship path. */
function resolve(path: string): ResolvedField {
  if (path.toLowerCase() === 'account.name') return { path: 'Account.Name', field: field('Name', 'string') };
  const f = FIELDS.find((x) => x.name.toLowerCase() === path.toLowerCase());
  if (!f) throw new Error(`unknown field ${path}`);
  return { path: f.name, field: f };
}

const c = (expr: FilterExpr): string => compileFilter(expr, resolve);

function expectInvalid(fn: () => unknown): void {
  try {
    fn();
  } catch (error) {
    expect(isLiaisonError(error, 'invalid_input')).toBe(true);
    return;
  }
  throw new Error('expected invalid_input');
}

describe('SOQL string escaping', () => {
  it('escapes every character SOQL treats specially', () => {
    expect(soqlString(`a'b\\c"d\ne\rf\tg\bh\fi`)).toBe(`'a\\'b\\\\c\\"d\\ne\\rf\\tg\\bh\\fi'`);
  });

  it('keeps an injection attempt inside the literal', () => {
    const soql = c({ kind: 'compare', field: 'LastName', op: '=', value: "x' OR Name != '" });
    expect(soql).toBe(`LastName = 'x\\' OR Name != \\''`);
    // Every quote inside the value is escaped: the only unescaped quotes are the two delimiters.
    expect(soql.replace(/\\./g, '').match(/'/g)).toHaveLength(2);
  });

  it('does not let a trailing backslash swallow the closing quote', () => {
    const soql = c({ kind: 'compare', field: 'LastName', op: '=', value: "x\\' OR Id != null OR Name = '" });
    expect(soql).toBe(`LastName = 'x\\\\\\' OR Id != null OR Name = \\''`);
    expect(soql.replace(/\\./g, '').match(/'/g)).toHaveLength(2);
  });

  it('leaves LIKE wildcards as the user wrote them and escapes quotes in the pattern', () => {
    expect(c({ kind: 'like', field: 'Email', pattern: "%o'brien_%" })).toBe(`Email LIKE '%o\\'brien_%'`);
    expect(c({ kind: 'like', field: 'Email', pattern: '%@x.com', negate: true })).toBe(`(NOT Email LIKE '%@x.com')`);
  });
});

describe('filter compilation', () => {
  it('compiles comparisons with literals typed by the field', () => {
    expect(c({ kind: 'compare', field: 'lastname', op: '!=', value: 'Smith' })).toBe(`LastName != 'Smith'`);
    expect(c({ kind: 'compare', field: 'NumberOfEmployees', op: '>=', value: 10 })).toBe('NumberOfEmployees >= 10');
    expect(c({ kind: 'compare', field: 'Score__c', op: '<', value: 1.5 })).toBe('Score__c < 1.5');
    expect(c({ kind: 'compare', field: 'Score__c', op: '<', value: 1e-7 })).toBe('Score__c < 0.0000001');
    expect(c({ kind: 'compare', field: 'HasOptedOutOfEmail', op: '=', value: true })).toBe('HasOptedOutOfEmail = true');
    expect(c({ kind: 'compare', field: 'Birthdate', op: '>', value: { date: '2000-02-29' } })).toBe(
      'Birthdate > 2000-02-29',
    );
    expect(c({ kind: 'compare', field: 'Birthdate', op: '>', value: '1999-12-31' })).toBe('Birthdate > 1999-12-31');
    expect(
      c({ kind: 'compare', field: 'SystemModstamp', op: '>=', value: { datetime: '2024-01-15T12:20:30+02:00' } }),
    ).toBe('SystemModstamp >= 2024-01-15T10:20:30Z');
    expect(c({ kind: 'compare', field: 'SystemModstamp', op: '<', value: '2024-01-15T10:20:30.250Z' })).toBe(
      'SystemModstamp < 2024-01-15T10:20:30.250Z',
    );
    expect(c({ kind: 'compare', field: 'Account.Name', op: '=', value: 'Acme' })).toBe(`Account.Name = 'Acme'`);
  });

  it('compiles null tests, IN lists, NOT, AND and OR', () => {
    expect(c({ kind: 'null', field: 'Email' })).toBe('Email = null');
    expect(c({ kind: 'null', field: 'Email', negate: true })).toBe('Email != null');
    expect(c({ kind: 'compare', field: 'Email', op: '=', value: null })).toBe('Email = null');
    expect(c({ kind: 'in', field: 'LastName', values: ['a', "b'c"] })).toBe(`LastName IN ('a', 'b\\'c')`);
    expect(c({ kind: 'in', field: 'NumberOfEmployees', values: [1, 2], negate: true })).toBe(
      'NumberOfEmployees NOT IN (1, 2)',
    );
    expect(
      c({
        kind: 'and',
        args: [
          {
            kind: 'or',
            args: [
              { kind: 'null', field: 'Email' },
              { kind: 'like', field: 'Email', pattern: '%@a.com' },
            ],
          },
          { kind: 'not', arg: { kind: 'compare', field: 'LastName', op: '=', value: 'X' } },
        ],
      }),
    ).toBe(`((Email = null OR Email LIKE '%@a.com') AND (NOT (LastName = 'X')))`);
  });

  it('gives empty AND/OR and empty IN their logical meaning', () => {
    expect(c({ kind: 'and', args: [] })).toBe('Id != null');
    expect(c({ kind: 'or', args: [] })).toBe('Id = null');
    expect(c({ kind: 'in', field: 'LastName', values: [] })).toBe('Id = null');
  });

  it('refuses values that do not fit the field', () => {
    expectInvalid(() => c({ kind: 'compare', field: 'NumberOfEmployees', op: '=', value: '1 OR Id != null' }));
    expectInvalid(() => c({ kind: 'compare', field: 'NumberOfEmployees', op: '=', value: Number.NaN }));
    expectInvalid(() => c({ kind: 'compare', field: 'HasOptedOutOfEmail', op: '=', value: 'yes' }));
    expectInvalid(() => c({ kind: 'compare', field: 'Birthdate', op: '=', value: '2023-02-29' }));
    expectInvalid(() =>
      c({ kind: 'compare', field: 'Birthdate', op: '=', value: { datetime: '2023-02-01T00:00:00Z' } }),
    );
    expectInvalid(() => c({ kind: 'compare', field: 'SystemModstamp', op: '=', value: '2024-01-15T10:20:30' }));
    expectInvalid(() => c({ kind: 'compare', field: 'SystemModstamp', op: '=', value: '2024-01-15T25:00:00Z' }));
    expectInvalid(() => c({ kind: 'compare', field: 'Email', op: '<', value: null }));
    expectInvalid(() => c({ kind: 'compare', field: 'MailingAddress', op: '=', value: 'x' }));
  });
});

describe('date and datetime literals', () => {
  it('validates dates strictly', () => {
    expect(soqlDate('2024-02-29')).toBe('2024-02-29');
    for (const bad of ['2024-2-01', '2024-13-01', '2024-04-31', '20240101', '2024-01-01 ', "2024-01-01' OR "])
      expectInvalid(() => soqlDate(bad));
  });
  it('converts datetimes to UTC and demands a zone', () => {
    expect(soqlDateTime('2024-01-01T00:00:00-05:00')).toBe('2024-01-01T05:00:00Z');
    expect(soqlDateTime('2024-01-01T00:00:00.5Z')).toBe('2024-01-01T00:00:00.500Z');
    expect(soqlDateTime('2024-01-01T00:00:00+0100')).toBe('2023-12-31T23:00:00Z');
    for (const bad of ['2024-01-01', '2024-01-01T00:00:00', '2024-01-01T00:00Z', 'TODAY', '2024-01-01T00:00:00Z OR'])
      expectInvalid(() => soqlDateTime(bad));
  });
});

describe('SELECT and ids', () => {
  it('assembles clauses', () => {
    expect(
      compileSelect({
        object: 'Contact',
        fields: ['Id', 'LastName'],
        where: ['A = 1', 'B = 2'],
        orderBy: [{ path: 'LastName', direction: 'desc' }],
        limit: 5,
      }),
    ).toBe('SELECT Id, LastName FROM Contact WHERE (A = 1) AND (B = 2) ORDER BY LastName DESC LIMIT 5');
    expect(compileSelect({ object: 'Contact', fields: ['Id'], where: [] })).toBe('SELECT Id FROM Contact');
    expectInvalid(() => compileSelect({ object: 'Contact', fields: ['Id'], where: [], limit: -1 }));
  });

  it('checks ids and splits long lists so the URL stays short', () => {
    expect(checkId('003Lz0000000001AAA')).toBe('003Lz0000000001AAA');
    expectInvalid(() => checkId("003' OR Id != '"));
    const ids = Array.from({ length: 1000 }, (_, i) => `003Lz${String(i).padStart(10, '0')}`);
    const parts = idConditions(ids, 200, 4000, 300);
    expect(parts.length).toBeGreaterThan(3);
    for (const part of parts) expect(200 + encodeURIComponent(` AND ${part}`).length).toBeLessThanOrEqual(4000);
    const back = parts.flatMap((p) => [...p.matchAll(/'([^']+)'/g)].map((m) => m[1]));
    expect(back).toEqual(ids);
    expect(idConditions(ids.slice(0, 10), 0, 100_000, 4)).toHaveLength(3);
  });
});
