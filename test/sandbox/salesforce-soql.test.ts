import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { QueryCursors } from '../../src/sandbox/salesforce/query-cursors.js';
import { RecordStore } from '../../src/sandbox/salesforce/record-store.js';
import { idSuffix, makeId, normaliseId } from '../../src/sandbox/salesforce/salesforce-ids.js';
import { buildCatalog } from '../../src/sandbox/salesforce/schema-catalog.js';
import { SoqlCompiler } from '../../src/sandbox/salesforce/soql-compiler.js';
import { relativeRange } from '../../src/sandbox/salesforce/soql-dates.js';
import { parseSoql } from '../../src/sandbox/salesforce/soql-parser.js';

/** The sandbox's SOQL parser, compiler and id helpers in isolation (no server). */
const USER = makeId('005', 1);

function engine(): { store: RecordStore; cursors: QueryCursors } {
  const store = new RecordStore(new Database(':memory:'), buildCatalog(), () => new Date('2025-01-01T00:00:00Z'), USER);
  return {
    store,
    cursors: new QueryCursors(store.db, new SoqlCompiler(store, () => new Date('2025-01-01T00:00:00Z'))),
  };
}

function run(
  cursors: QueryCursors,
  soql: string,
  includeDeleted = false,
): { totalSize: number; records: Record<string, unknown>[] } {
  const compiled = cursors.compile(soql, '62.0', includeDeleted);
  const body = cursors.pageBody(cursors.open(compiled, '62.0', 2000), 0);
  return JSON.parse(body) as { totalSize: number; records: Record<string, unknown>[] };
}

describe('ids', () => {
  it('computes the documented 18-character suffix and accepts 15-character ids', () => {
    expect(idSuffix('001A0000006Vm9r')).toBe('IAC');
    expect(idSuffix('0015000000Gv7qJ')).toBe('AAR');
    expect(normaliseId('001A0000006Vm9r')).toBe('001A0000006Vm9rIAC');
    expect(normaliseId('001A0000006Vm9rIAC')).toBe('001A0000006Vm9rIAC');
    expect(normaliseId('001A0000006Vm9rXXX')).toBeUndefined();
    expect(normaliseId("0'; DROP TABLE")).toBeUndefined();
    expect(makeId('003', 1)).toMatch(/^003[A-Za-z0-9]{15}$/);
    expect(makeId('003', 2) > makeId('003', 1)).toBe(true);
  });
});

describe('parser', () => {
  it('parses field paths, conditions, ordering and paging clauses', () => {
    const q = parseSoql(
      "select Id, Account.Name from Contact c where (c.LastName = 'O\\'Brien' or Score__c >= -1.5) and not Email = null order by LastName desc nulls last, Id limit 10 offset 5",
    );
    expect(q.fields.map((f) => f.parts)).toEqual([['Id'], ['Account', 'Name']]);
    expect(q.from).toBe('Contact');
    expect(q.orderBy).toEqual([
      expect.objectContaining({ desc: true, nulls: 'last' }),
      expect.objectContaining({ desc: false }),
    ]);
    expect([q.limit, q.offset]).toEqual([10, 5]);
    expect(q.where).toMatchObject({ kind: 'and', items: [{ kind: 'or' }, { kind: 'not' }] });
  });

  it('unescapes string literals and keeps LIKE wildcards escaped', () => {
    const q = parseSoql("SELECT Id FROM Contact WHERE LastName LIKE '100\\%\\_a\\\\b\\n'");
    expect(q.where).toMatchObject({
      kind: 'like',
      value: { kind: 'string', value: '100\\%\\_a\\b\n', like: '100\\%\\_a\\\\b\n' },
    });
  });

  it('reports the column of the offending token', () => {
    expect(() => parseSoql('SELECT Id FROM Contact WHERE = 1')).toThrow(
      /ERROR at Row:1:Column:30\nunexpected token: '='/,
    );
    expect(() => parseSoql("SELECT Id FROM Contact WHERE LastName = 'a\\q'")).toThrow(/Illegal character sequence/);
    expect(() => parseSoql('SELECT Id, (SELECT Id, (SELECT Id FROM X) FROM Contacts) FROM Account')).toThrow(
      /Nesting of subqueries/,
    );
    expect(() => parseSoql('SELECT Id FROM Contact WHERE AccountId IN (SELECT Id FROM Account)')).toThrow(
      /not supported by the sandbox/,
    );
  });
});

describe('relative dates', () => {
  const now = new Date('2025-03-15T12:34:56Z'); // a Saturday
  const iso = ([a, b]: [Date, Date]) => [a.toISOString().slice(0, 10), b.toISOString().slice(0, 10)];
  it('are half-open UTC day ranges', () => {
    expect(iso(relativeRange('TODAY', 1, now))).toEqual(['2025-03-15', '2025-03-16']);
    expect(iso(relativeRange('LAST_N_DAYS', 7, now))).toEqual(['2025-03-08', '2025-03-16']);
    expect(iso(relativeRange('THIS_MONTH', 1, now))).toEqual(['2025-03-01', '2025-04-01']);
    expect(iso(relativeRange('THIS_WEEK', 1, now))).toEqual(['2025-03-09', '2025-03-16']);
    expect(iso(relativeRange('LAST_YEAR', 1, now))).toEqual(['2024-01-01', '2025-01-01']);
  });
});

describe('compiler over a store', () => {
  it('values are parameters: an injection attempt is just a string that matches nothing', () => {
    const { store, cursors } = engine();
    store.insert('Contact', { LastName: 'Smith' });
    const res = run(
      cursors,
      "SELECT Id FROM Contact WHERE LastName = 'x\\' OR 1=1 --' OR LastName = 'a\\'; DROP TABLE \"Contact\"; --'",
    );
    expect(res.totalSize).toBe(0);
    expect(() => parseSoql("SELECT Id FROM Contact WHERE LastName = 'a''")).toThrow(/MALFORMED|ERROR at Row/);
    expect(run(cursors, 'SELECT Id FROM Contact').totalSize).toBe(1);
  });

  it('renders booleans, numbers, dates, nested parents and nulls as Salesforce does', () => {
    const { store, cursors } = engine();
    const account = store.insert('Account', { Name: 'Ørsted Energi', AnnualRevenue: 1000, NumberOfEmployees: 12 });
    store.insert('Contact', {
      LastName: '山田',
      FirstName: '太郎',
      AccountId: account,
      Birthdate: '1980-02-29',
      Score__c: 12.34,
      HasOptedOutOfEmail: true,
      Last_Purchase__c: '2024-05-06T07:08:09+02:00',
    });
    const res = run(
      cursors,
      'SELECT Name, Birthdate, Score__c, HasOptedOutOfEmail, DoNotCall, Last_Purchase__c, Title, Account.Name, Account.AnnualRevenue, Account.NumberOfEmployees FROM Contact',
    );
    expect(res.records[0]).toEqual({
      attributes: { type: 'Contact', url: expect.stringMatching(/^\/services\/data\/v62\.0\/sobjects\/Contact\/003/) },
      Name: '太郎 山田',
      Birthdate: '1980-02-29',
      Score__c: 12.3,
      HasOptedOutOfEmail: true,
      DoNotCall: false,
      Last_Purchase__c: '2024-05-06T05:08:09.000+0000',
      Title: null,
      Account: {
        attributes: { type: 'Account', url: `/services/data/v62.0/sobjects/Account/${account}` },
        Name: 'Ørsted Energi',
        AnnualRevenue: 1000,
        NumberOfEmployees: 12,
      },
    });
  });

  it('compares case-insensitively in every script (=, !=, IN, LIKE)', () => {
    const { store, cursors } = engine();
    const id = store.insert('Contact', { LastName: 'MÜLLER', FirstName: 'Ελένη' });
    store.insert('Contact', { LastName: 'Smith' });
    const ids = (soql: string) => run(cursors, soql).records.map((r) => r.Id);
    expect(ids("SELECT Id FROM Contact WHERE LastName = 'müller'")).toEqual([id]);
    expect(ids("SELECT Id FROM Contact WHERE FirstName = 'ΕΛΈΝΗ'")).toEqual([id]);
    expect(ids("SELECT Id FROM Contact WHERE LastName IN ('smith', 'Müller') ORDER BY LastName")).toHaveLength(2);
    expect(ids("SELECT Id FROM Contact WHERE LastName LIKE 'mül%'")).toEqual([id]);
    expect(ids("SELECT Id FROM Contact WHERE LastName != 'müller'")).toHaveLength(1);
    expect(ids("SELECT Id FROM Contact WHERE LastName = 'SMITH'")).toHaveLength(1);
  });

  it('child relationship subqueries give nested query results in place, or null', () => {
    const { store, cursors } = engine();
    const withKids = store.insert('Account', { Name: 'Parent' });
    const childless = store.insert('Account', { Name: 'Lonely' });
    store.insert('Contact', { LastName: 'Zed', AccountId: withKids, Email: 'z@example.com' });
    store.insert('Contact', { LastName: 'Abe', AccountId: withKids });
    const gone = store.insert('Contact', { LastName: 'Gone', AccountId: withKids });
    store.delete('Contact', gone);
    const res = run(
      cursors,
      "SELECT Id, (SELECT LastName, Account.Name FROM Contacts WHERE LastName != 'nobody' ORDER BY LastName), Name FROM Account ORDER BY Name DESC",
    );
    expect(Object.keys(res.records[0] ?? {})).toEqual(['attributes', 'Id', 'Contacts', 'Name']);
    expect(res.records[0]).toMatchObject({ Id: withKids, Name: 'Parent' });
    const contact = (lastName: string) => ({
      attributes: { type: 'Contact', url: expect.any(String) },
      LastName: lastName,
      Account: { attributes: expect.any(Object), Name: 'Parent' },
    });
    expect(res.records[0]?.Contacts).toEqual({ totalSize: 2, done: true, records: [contact('Abe'), contact('Zed')] });
    expect(res.records[1]).toMatchObject({ Id: childless, Contacts: null });
    const all = run(cursors, `SELECT Id, (SELECT Id FROM Contacts) FROM Account WHERE Id = '${withKids}'`, true);
    expect((all.records[0]?.Contacts as { totalSize: number }).totalSize).toBe(3);
    expect(() => cursors.compile('SELECT Id, (SELECT Id FROM Nopes) FROM Account', '62.0', false)).toThrow(
      /Didn't understand relationship 'Nopes'/,
    );
  });

  it('refuses duplicate fields and aggregate functions', () => {
    const { cursors } = engine();
    expect(() => cursors.compile('SELECT Id, id FROM Contact', '62.0', false)).toThrow(/duplicate field selected: Id/);
    expect(() => cursors.compile('SELECT COUNT(Id) FROM Contact', '62.0', false)).toThrow(/not supported/);
  });
});
