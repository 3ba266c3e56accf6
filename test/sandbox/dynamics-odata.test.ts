import { describe, expect, it } from 'vitest';
import { parseFilter, splitTopLevel, ODataSyntaxError } from '../../src/sandbox/dynamics/dynamics-odata-parser.js';
import { compileFilter } from '../../src/sandbox/dynamics/dynamics-odata-sql.js';
import { evaluateFilter } from '../../src/sandbox/dynamics/dynamics-odata-eval.js';
import { buildSchema } from '../../src/sandbox/dynamics/dynamics-schema.js';
import { DynamicsStore, tableName } from '../../src/sandbox/dynamics/dynamics-store.js';
import { wireAttributes } from '../../src/sandbox/dynamics/dynamics-values.js';

/** The sandbox's $filter parser and its compilation to parameterised SQL, checked against a real SQLite table. */

const schema = buildSchema();
const contact = schema.find((e) => e.logicalName === 'contact')!;
const attrs = wireAttributes(contact);

function compile(text: string) {
  return compileFilter(parseFilter(text), contact, attrs);
}

describe('parseFilter', () => {
  it('parses precedence: not > and > or, with parentheses', () => {
    expect(parseFilter('a eq 1 or b eq 2 and not c eq 3')).toMatchObject({
      kind: 'or',
      left: { kind: 'compare', op: 'eq' },
      right: { kind: 'and', right: { kind: 'not', expr: { kind: 'compare' } } },
    });
    expect(parseFilter('(a eq 1 or b eq 2) and c eq 3')).toMatchObject({ kind: 'and', left: { kind: 'or' } });
  });

  it('reads literals: doubled quotes, GUIDs, datetimes, dates, numbers, booleans, null, enums', () => {
    expect(parseFilter("x eq 'O''Brien'")).toMatchObject({ right: { type: 'string', value: "O'Brien" } });
    expect(parseFilter('x eq 1A2B3C4D-0000-4000-8000-00000000000F')).toMatchObject({
      right: { type: 'guid', value: '1a2b3c4d-0000-4000-8000-00000000000f' },
    });
    expect(parseFilter('x gt 2024-01-15T10:20:30Z')).toMatchObject({
      right: { type: 'datetime', value: '2024-01-15T10:20:30Z' },
    });
    expect(parseFilter('x ge 2024-01-15')).toMatchObject({ right: { type: 'date' } });
    expect(parseFilter('x lt -12.5')).toMatchObject({ right: { type: 'number', value: -12.5 } });
    expect(parseFilter('x eq true')).toMatchObject({ right: { type: 'boolean', value: true } });
    expect(parseFilter('x eq null')).toMatchObject({ right: { type: 'null' } });
    expect(parseFilter("AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist'")).toMatchObject({
      right: { type: 'enum', value: 'Picklist' },
    });
  });

  it('rejects malformed input', () => {
    for (const bad of ["x eq 'open", 'x eq', '(x eq 1', 'x eq 1)', 'eq 1', '', 'x eq 1 and', 'x ~ 1']) {
      expect(() => parseFilter(bad), bad).toThrow(ODataSyntaxError);
    }
  });

  it('splits lists at top level only', () => {
    expect(splitTopLevel("Attributes($select=a,b;$filter=x eq 'a,b'),Keys")).toEqual([
      "Attributes($select=a,b;$filter=x eq 'a,b')",
      'Keys',
    ]);
  });
});

describe('compileFilter', () => {
  it('never puts user values in SQL text', () => {
    const hostile = "x'); DROP TABLE t_contact; --";
    const { sql, params } = compile(`lastname eq '${hostile.replace(/'/g, "''")}' or contains(emailaddress1,'%_\\')`);
    expect(sql).not.toContain('DROP');
    expect(params).toEqual([hostile, '%\\%\\_\\\\%']);
  });

  it('maps lookups, booleans, dates and null tests to columns and typed parameters', () => {
    expect(compile('_parentcustomerid_value eq 1a2b3c4d-0000-4000-8000-00000000000f')).toEqual({
      sql: '"parentcustomerid" = ?',
      params: ['1a2b3c4d-0000-4000-8000-00000000000f'],
    });
    expect(compile('donotemail eq true')).toEqual({ sql: '"donotemail" = ?', params: [1] });
    expect(compile('modifiedon gt 2024-01-15T12:20:30+02:00').params).toEqual(['2024-01-15T10:20:30Z']);
    expect(compile('birthdate ge 1980-02-01T00:00:00Z').params).toEqual(['1980-02-01']);
    expect(compile('jobtitle eq null').sql).toBe('"jobtitle" IS NULL');
    expect(compile('not (jobtitle ne null)').sql).toBe('(NOT "jobtitle" IS NOT NULL)');
    expect(compile('5 lt numberofchildren').sql).toBe('"numberofchildren" > ?');
  });

  it('refuses unknown properties and incompatible literal types', () => {
    expect(() => compile("nickname eq 'x'")).toThrow(
      "Could not find a property named 'nickname' on type 'Microsoft.Dynamics.CRM.contact'.",
    );
    expect(() => compile('parentcustomerid eq null')).toThrow(/Could not find a property named 'parentcustomerid'/);
    expect(() => compile("numberofchildren eq 'two'")).toThrow(/incompatible types/);
    expect(() => compile("contactid eq 'not-a-guid'")).toThrow(/incompatible types/);
    expect(() => compile("frobnicate(lastname,'x')")).toThrow(/unknown function/);
  });

  it('runs against SQLite with Dataverse semantics (case-insensitive strings, query functions)', () => {
    const store = new DynamicsStore(buildSchema());
    store.createIndexes();
    const e = store.entity('contact')!;
    const add = (id: string, values: Record<string, string | number | null>) =>
      store.insert(e, {
        contactid: id,
        versionnumber: store.nextVersion(),
        createdon: '2024-01-01T00:00:00Z',
        modifiedon: '2024-01-01T00:00:00Z',
        ...values,
      });
    add('00000000-0000-4000-8000-000000000001', {
      lastname: "O'Brien",
      numberofchildren: 1,
      lia_interests: '100000001,100000004',
    });
    add('00000000-0000-4000-8000-000000000002', {
      lastname: 'MÜLLER',
      numberofchildren: 3,
      lia_interests: '100000000',
    });
    add('00000000-0000-4000-8000-000000000003', { lastname: 'smith', numberofchildren: null, lia_interests: null });
    const ids = (text: string) => {
      const { sql, params } = compileFilter(parseFilter(text), e, wireAttributes(e));
      return (
        store.db.prepare(`SELECT contactid FROM ${tableName(e)} WHERE ${sql} ORDER BY _rid`).all(...params) as Array<{
          contactid: string;
        }>
      ).map((r) => r.contactid.slice(-1));
    };
    expect(ids("lastname eq 'SMITH'")).toEqual(['3']);
    expect(ids("lastname eq 'o''brien'")).toEqual(['1']);
    expect(ids("startswith(lastname,'m') or endswith(lastname,'TH')")).toEqual(['2', '3']);
    expect(ids('numberofchildren ge 1 and numberofchildren lt 3')).toEqual(['1']);
    expect(ids('numberofchildren eq null')).toEqual(['3']);
    expect(ids("Microsoft.Dynamics.CRM.In(PropertyName='numberofchildren',PropertyValues=['1','3'])")).toEqual([
      '1',
      '2',
    ]);
    expect(ids("Microsoft.Dynamics.CRM.Between(PropertyName='numberofchildren',PropertyValues=['2','5'])")).toEqual([
      '2',
    ]);
    expect(
      ids(
        "Microsoft.Dynamics.CRM.ContainValues(PropertyName='lia_interests',PropertyValues=['100000004','100000000'])",
      ),
    ).toEqual(['1', '2']);
    expect(
      ids("Microsoft.Dynamics.CRM.DoesNotContainValues(PropertyName='lia_interests',PropertyValues=['100000004'])"),
    ).toEqual(['2', '3']);
    store.close();
  });
});

describe('evaluateFilter on metadata', () => {
  it('walks complex properties and compares enums', () => {
    const attr = {
      LogicalName: 'lastname',
      AttributeType: 'String',
      RequiredLevel: { Value: 'ApplicationRequired' },
      IsCustomAttribute: false,
    };
    const typeName = 'Microsoft.Dynamics.CRM.AttributeMetadata';
    expect(
      evaluateFilter(
        parseFilter("RequiredLevel/Value eq Microsoft.Dynamics.CRM.AttributeRequiredLevel'ApplicationRequired'"),
        attr,
        typeName,
      ),
    ).toBe(true);
    expect(
      evaluateFilter(
        parseFilter("AttributeType eq Microsoft.Dynamics.CRM.AttributeTypeCode'Picklist' or IsCustomAttribute eq true"),
        attr,
        typeName,
      ),
    ).toBe(false);
    expect(() => evaluateFilter(parseFilter('Nope eq 1'), attr, typeName)).toThrow(
      "Could not find a property named 'Nope' on type 'Microsoft.Dynamics.CRM.AttributeMetadata'.",
    );
  });
});
