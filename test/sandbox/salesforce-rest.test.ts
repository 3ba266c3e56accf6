import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.js';
import { clientToken, firstError, rawRequest } from './salesforce-helpers.js';

/** Wire details a driver relies on, checked over raw HTTPS: paging, batch sizes, relative dates, bulk paging. */
let sf: SalesforceSandbox;
let token: string;
const V = '/services/data/v62.0';
const NOW = new Date('2025-03-15T12:00:00Z');
let clockOffsetMs = 0;

beforeAll(async () => {
  sf = await startSalesforceSandbox({ records: 900, seed: 3, clock: () => new Date(NOW.getTime() + clockOffsetMs) });
  token = await clientToken(sf);
});

afterAll(async () => {
  await sf?.stop();
});

const get = (p: string, headers?: Record<string, string>) =>
  rawRequest(sf, 'GET', p, { token, ...(headers ? { headers } : {}) });
const soql = (q: string, headers?: Record<string, string>) => get(`${V}/query?q=${encodeURIComponent(q)}`, headers);
type Page = { totalSize: number; done: boolean; nextRecordsUrl?: string; records: Record<string, unknown>[] };

describe('query paging', () => {
  it('honours Sforce-Query-Options batchSize within 200..2000 and pages to the end', async () => {
    let page = (await soql('SELECT Id FROM Contact ORDER BY LastName, Id', { 'Sforce-Query-Options': 'batchSize=250' }))
      .json as Page;
    expect(page.records).toHaveLength(250);
    const ids = page.records.map((r) => r.Id);
    while (!page.done) {
      page = (await get(page.nextRecordsUrl as string)).json as Page;
      ids.push(...page.records.map((r) => r.Id));
    }
    expect(ids).toHaveLength(900);
    expect(new Set(ids).size).toBe(900);
    const tooSmall = (await soql('SELECT Id FROM Contact', { 'Sforce-Query-Options': 'batchSize=10' })).json as Page;
    expect(tooSmall.records).toHaveLength(900);
  });

  it('an open cursor survives a metadata change (a field added mid-pagination)', async () => {
    const first = (await soql('SELECT Id, LastName FROM Contact', { 'Sforce-Query-Options': 'batchSize=200' }))
      .json as Page;
    sf.admin.addField('Contact', { name: 'Drift__c', type: 'string', length: 20 });
    const second = await get(first.nextRecordsUrl as string);
    expect(second.status).toBe(200);
    expect((second.json as Page).records).toHaveLength(200);
    sf.admin.removeField('Contact', 'Drift__c');
  });

  it('a queryAll cursor keeps deleted rows on later pages even through the /query/ path', async () => {
    const victims = sf.admin.listIds('Contact', 900).slice(-5);
    for (const id of victims) sf.admin.deleteRecord('Contact', id);
    let page = (
      await get(`${V}/queryAll?q=${encodeURIComponent('SELECT Id, IsDeleted FROM Contact')}`, {
        'Sforce-Query-Options': 'batchSize=200',
      })
    ).json as Page;
    const rows = [...page.records];
    expect(page.nextRecordsUrl).toMatch(/\/query\/01g/);
    while (!page.done) {
      page = (await get(page.nextRecordsUrl as string)).json as Page;
      rows.push(...page.records);
    }
    expect(
      rows
        .filter((r) => r.IsDeleted === true)
        .map((r) => r.Id)
        .sort(),
    ).toEqual([...victims].sort());
    expect(((await soql('SELECT COUNT() FROM Contact')).json as Page).totalSize).toBe(895);
  });
});

describe('SOQL semantics', () => {
  it('relative date literals use the org clock', async () => {
    const today = sf.admin.createRecord('Opportunity', {
      Name: 'Today',
      StageName: 'Prospecting',
      CloseDate: '2025-03-15',
    });
    const lastWeek = sf.admin.createRecord('Opportunity', {
      Name: 'Recent',
      StageName: 'Prospecting',
      CloseDate: '2025-03-10',
    });
    const ids = async (where: string) =>
      ((await soql(`SELECT Id FROM Opportunity WHERE ${where}`)).json as Page).records.map((r) => r.Id);
    expect(await ids('CloseDate = TODAY')).toEqual([today]);
    expect(await ids('CloseDate = LAST_N_DAYS:7')).toEqual(expect.arrayContaining([today, lastWeek]));
    expect(await ids('CloseDate = LAST_N_DAYS:3')).not.toContain(lastWeek);
    const created = await ids('CreatedDate = TODAY');
    expect(created).toEqual(expect.arrayContaining([today, lastWeek]));
    const account = sf.admin.createRecord('Account', { Name: "Rosé O'Hara Ltd" });
    const contact = sf.admin.createRecord('Contact', { LastName: 'Parented', AccountId: account });
    const byParent = (
      await soql(
        "SELECT Id, Account.Name FROM Contact WHERE Account.Name = 'rosé o\\'hara ltd' OR Account.Name LIKE 'Rosé O\\'H%'",
      )
    ).json as Page;
    expect(byParent.records).toEqual([
      expect.objectContaining({ Id: contact, Account: expect.objectContaining({ Name: "Rosé O'Hara Ltd" }) }),
    ]);
  });

  it('multipicklist INCLUDES, compound fields in SELECT, escapes and case-insensitive equality', async () => {
    const id = sf.admin.createRecord('Contact', {
      LastName: 'Back\\slash\nNew',
      Interests__c: 'Cycling;Music',
      Home_Location__Latitude__s: 48.1,
      Home_Location__Longitude__s: 11.5,
      MailingCity: 'Ørsted',
    });
    const res = (
      await soql(
        `SELECT Id, Home_Location__c, MailingAddress, Interests__c FROM Contact WHERE Interests__c INCLUDES ('Music') AND LastName = 'back\\\\slash\\nnew'`,
      )
    ).json as Page;
    expect(res.records).toEqual([
      expect.objectContaining({
        Id: id,
        Home_Location__c: { latitude: 48.1, longitude: 11.5 },
        MailingAddress: expect.objectContaining({ city: 'Ørsted', street: null }),
        Interests__c: 'Cycling;Music',
      }),
    ]);
    const like = (
      await soql("SELECT Id FROM Contact WHERE LastName LIKE 'back\\\\%' AND (NOT Interests__c EXCLUDES ('Cycling'))")
    ).json as Page;
    expect(like.records.map((r) => r.Id)).toEqual([id]);
  });
});

describe('SOQL operators', () => {
  it('aliases, NOT IN, != including nulls, NULLS FIRST/LAST, COUNT() with LIMIT', async () => {
    const a = sf.admin.createRecord('Campaign', { Name: 'Alpha', Status: 'Planned' });
    const b = sf.admin.createRecord('Campaign', { Name: 'Beta' });
    const names = async (q: string) => ((await soql(q)).json as Page).records.map((r) => r.Name);
    expect(
      await names("SELECT c.Name FROM Campaign c WHERE c.Name IN ('Alpha', 'Beta') ORDER BY c.Status NULLS FIRST"),
    ).toEqual(['Beta', 'Alpha']);
    expect(
      await names("SELECT Name FROM Campaign WHERE Name IN ('Alpha', 'Beta') ORDER BY Status ASC NULLS LAST"),
    ).toEqual(['Alpha', 'Beta']);
    expect(await names("SELECT Name FROM Campaign WHERE Name IN ('Alpha', 'Beta') AND Status != 'Planned'")).toEqual([
      'Beta',
    ]);
    expect(
      await names("SELECT Name FROM Campaign WHERE Name IN ('Alpha', 'Beta') AND Status NOT IN ('Planned')"),
    ).toEqual(['Beta']);
    expect(await names("SELECT Name FROM Campaign WHERE Name IN ('Alpha', 'Beta') AND Status = null")).toEqual([
      'Beta',
    ]);
    expect(((await soql('SELECT COUNT() FROM Contact LIMIT 7')).json as Page).totalSize).toBe(7);
    expect([a, b].every((id) => id.startsWith('701'))).toBe(true);
  });
});

describe('records over REST', () => {
  it('15-character ids in URLs, ?fields=, external-id GET and collections upsert/retrieve', async () => {
    const id = sf.admin.listIds('Contact', 1)[0] as string;
    const rec = (await get(`${V}/sobjects/Contact/${id.slice(0, 15)}?fields=Id,LastName`)).json as Record<
      string,
      unknown
    >;
    expect(Object.keys(rec)).toEqual(['attributes', 'Id', 'LastName']);
    const byExt = (await get(`${V}/sobjects/Contact/Customer_Number__c/C-000000001`)).json as Record<string, unknown>;
    expect(byExt.Id).toBe(id);
    const upsert = await rawRequest(sf, 'PATCH', `${V}/composite/sobjects/Contact/Customer_Number__c`, {
      token,
      headers: { 'Sforce-Auto-Assign': 'FALSE', 'Sforce-Call-Options': 'client=liaison-test' },
      body: {
        allOrNone: false,
        records: [
          { attributes: { type: 'Contact' }, Customer_Number__c: 'C-000000001', Title: 'Up' },
          { attributes: { type: 'Contact' }, Customer_Number__c: 'NEW-1', LastName: 'Nuevo' },
        ],
      },
    });
    expect(upsert.json).toEqual([
      { id, success: true, errors: [], created: false },
      { id: expect.stringMatching(/^003/), success: true, errors: [], created: true },
    ]);
    const retrieved = (await get(`${V}/composite/sobjects/Contact?ids=${id},003Lz0000000zzzIAA&fields=Id,Title`))
      .json as unknown[];
    expect(retrieved).toEqual([expect.objectContaining({ Id: id, Title: 'Up' }), null]);
  });
});

describe('Bulk API 2.0 over raw HTTPS', () => {
  const waitFor = async (p: string, states: string[]) => {
    for (;;) {
      const info = (await get(p)).json as { state: string };
      if (states.includes(info.state)) return info;
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('query results page with Sforce-Locator until "null"', async () => {
    const job = (
      await rawRequest(sf, 'POST', `${V}/jobs/query`, {
        token,
        body: { operation: 'query', query: 'SELECT Id, LastName, HasOptedOutOfEmail, Account.Name FROM Contact' },
      })
    ).json as { id: string; state: string; jobType: string };
    expect(job).toMatchObject({ state: 'UploadComplete', jobType: 'V2Query' });
    await waitFor(`${V}/jobs/query/${job.id}`, ['JobComplete']);
    let locator: string | undefined;
    let rows = 0;
    let pages = 0;
    do {
      const res = await get(`${V}/jobs/query/${job.id}/results?maxRecords=400${locator ? `&locator=${locator}` : ''}`);
      expect(res.headers['content-type']).toMatch(/text\/csv/);
      expect(res.text.split('\n')[0]).toBe('"Id","LastName","HasOptedOutOfEmail","Account.Name"');
      rows += Number(res.headers['sforce-numberofrecords']);
      locator = String(res.headers['sforce-locator']);
      pages++;
    } while (locator !== 'null');
    expect(rows).toBe(((await soql('SELECT COUNT() FROM Contact')).json as Page).totalSize);
    expect(pages).toBe(Math.ceil(rows / 400));
  });

  it('query jobs refuse compound fields and COUNT(), as Salesforce does', async () => {
    const compound = await rawRequest(sf, 'POST', `${V}/jobs/query`, {
      token,
      body: { operation: 'query', query: 'SELECT Id, MailingAddress FROM Contact' },
    });
    expect(compound.status).toBe(400);
    expect(firstError(compound).message).toContain('compound data not supported');
    expect(
      (
        await rawRequest(sf, 'POST', `${V}/jobs/query`, {
          token,
          body: { operation: 'query', query: 'SELECT COUNT() FROM Contact' },
        })
      ).status,
    ).toBe(400);
    expect(
      firstError(
        await rawRequest(sf, 'POST', `${V}/jobs/query`, {
          token,
          body: { operation: 'query', query: 'SELECT Nope FROM Contact' },
        }),
      ).errorCode,
    ).toBe('INVALID_FIELD');
  });

  it('an ingest job with an unknown column fails; an aborted job keeps its rows unprocessed', async () => {
    const create = async () =>
      (
        await rawRequest(sf, 'POST', `${V}/jobs/ingest`, {
          token,
          body: { object: 'Contact', operation: 'insert', contentType: 'CSV', lineEnding: 'LF' },
        })
      ).json as { id: string; contentUrl: string; state: string; apiVersion: number };
    const bad = await create();
    expect(bad).toMatchObject({
      state: 'Open',
      apiVersion: 62,
      contentUrl: `services/data/v62.0/jobs/ingest/${bad.id}/batches`,
    });
    expect(
      (
        await rawRequest(sf, 'PUT', `/${bad.contentUrl}`, {
          token,
          body: 'LastName,Bogus__c\nA,B\n',
          headers: { 'Content-Type': 'text/csv' },
        })
      ).status,
    ).toBe(201);
    await rawRequest(sf, 'PATCH', `${V}/jobs/ingest/${bad.id}`, { token, body: { state: 'UploadComplete' } });
    expect(await waitFor(`${V}/jobs/ingest/${bad.id}`, ['Failed', 'JobComplete'])).toMatchObject({
      state: 'Failed',
      errorMessage: expect.stringContaining('Bogus__c'),
    });
    const aborted = await create();
    await rawRequest(sf, 'PUT', `/${aborted.contentUrl}`, {
      token,
      body: 'LastName\nKeep\n',
      headers: { 'Content-Type': 'text/csv' },
    });
    expect(
      (
        (await rawRequest(sf, 'PATCH', `${V}/jobs/ingest/${aborted.id}`, { token, body: { state: 'Aborted' } }))
          .json as { state: string }
      ).state,
    ).toBe('Aborted');
    const late = await rawRequest(sf, 'PUT', `/${aborted.contentUrl}`, {
      token,
      body: 'LastName\nLate\n',
      headers: { 'Content-Type': 'text/csv' },
    });
    expect(firstError(late).errorCode).toBe('INVALIDJOBSTATE');
    expect((await rawRequest(sf, 'DELETE', `${V}/jobs/ingest/${aborted.id}`, { token })).status).toBe(204);
  });
});

describe('describe caching', () => {
  it('If-Modified-Since gets 304 until the metadata changes', async () => {
    const later = new Date(Date.now() + 60_000).toUTCString();
    expect((await get(`${V}/sobjects/Lead/describe`, { 'If-Modified-Since': later })).status).toBe(304);
    expect((await get(`${V}/sobjects`, { 'If-Modified-Since': later })).status).toBe(304);
    const before = new Date(Date.now() - 1000).toUTCString();
    sf.admin.addField('Lead', { name: 'Campaign_Code__c', type: 'string', length: 12 });
    const changed = await get(`${V}/sobjects/Lead/describe`, { 'If-Modified-Since': before });
    expect(changed.status).toBe(200);
    expect((changed.json as { fields: { name: string }[] }).fields.map((f) => f.name)).toContain('Campaign_Code__c');
  });
});

describe('token lifetime', () => {
  it('tokens expire after tokenTtlSeconds (default 2 hours) of org time', async () => {
    const fresh = await clientToken(sf);
    clockOffsetMs = 2 * 3600_000 - 1000;
    expect((await rawRequest(sf, 'GET', `${V}/limits`, { token: fresh })).status).toBe(200);
    clockOffsetMs = 2 * 3600_000 + 1000;
    const expired = await rawRequest(sf, 'GET', `${V}/limits`, { token: fresh });
    expect(expired.status).toBe(401);
    expect(firstError(expired).errorCode).toBe('INVALID_SESSION_ID');
    clockOffsetMs = 0;
    token = await clientToken(sf);
  });
});

describe('persistence', () => {
  it('a data directory keeps records and credentials across restarts', async () => {
    const dataDir = mkdtempSync(path.join(os.tmpdir(), 'liaison-sf-persist-'));
    const first = await startSalesforceSandbox({ records: 10, seed: 1, dataDir });
    const id = first.admin.createRecord('Contact', { LastName: 'Persistent' });
    const credentials = first.credentials;
    await first.stop();
    const second = await startSalesforceSandbox({ records: 10, seed: 1, dataDir });
    try {
      expect(second.credentials).toEqual(credentials);
      expect(second.admin.getRecord('Contact', id)).toMatchObject({ LastName: 'Persistent' });
      expect(second.admin.countRecords('Contact')).toBe(11);
      const next = second.admin.createRecord('Contact', { LastName: 'After restart' });
      expect(next).not.toBe(id);
      expect((await rawRequest(second, 'GET', `${V}/limits`, { token: await clientToken(second) })).status).toBe(200);
    } finally {
      await second.stop();
    }
  });
});
