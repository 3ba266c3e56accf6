import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.js';
import { RecordStore } from '../../src/sandbox/salesforce/record-store.js';
import { buildCatalog } from '../../src/sandbox/salesforce/schema-catalog.js';
import { seedData } from '../../src/sandbox/salesforce/seed-data.js';
import { clientToken, firstError, rawRequest } from './salesforce-helpers.js';

/** Admin operations (in-process and over HTTPS), request accounting, API limits and fault injection. */
let sf: SalesforceSandbox;
let token: string;
const V = '/services/data/v62.0';

beforeAll(async () => {
  sf = await startSalesforceSandbox({ records: 20, seed: 9 });
  token = await clientToken(sf);
});

afterAll(async () => {
  await sf?.stop();
});

const get = (path: string, headers?: Record<string, string>) =>
  rawRequest(sf, 'GET', path, { token, ...(headers ? { headers } : {}) });

describe('accounting and limits', () => {
  it('counts every request by kind', async () => {
    sf.admin.resetRequestCount();
    await clientToken(sf);
    await get(`${V}/sobjects/Contact/describe`);
    await get(`${V}/query?q=${encodeURIComponent('SELECT Id FROM Contact')}`);
    await get(`${V}/limits`);
    await rawRequest(sf, 'POST', `${V}/composite/sobjects`, {
      token,
      body: { records: [{ attributes: { type: 'Lead' }, LastName: 'L', Company: 'C' }] },
    });
    await rawRequest(sf, 'POST', `${V}/sobjects/Account`, { token, body: { Name: 'Counted' } });
    expect(sf.admin.requestCounts()).toEqual({
      token: 1,
      describe: 1,
      query: 1,
      limits: 1,
      collections: 1,
      sobject: 1,
    });
    expect(sf.admin.requestCount()).toBe(6);
  });

  it('Sforce-Limit-Info on responses, /limits, and 403 REQUEST_LIMIT_EXCEEDED once the daily limit is spent', async () => {
    const res = await get(`${V}/limits`);
    const match = /^api-usage=(\d+)\/(\d+)$/.exec(String(res.headers['sforce-limit-info']));
    expect(match).not.toBeNull();
    const used = Number(match?.[1]);
    expect((res.json as { DailyApiRequests: { Max: number; Remaining: number } }).DailyApiRequests).toEqual({
      Max: 5_000_000,
      Remaining: 5_000_000 - used,
    });
    sf.admin.setDailyApiLimit(used + 2);
    expect((await get(`${V}/sobjects`)).status).toBe(200);
    expect((await get(`${V}/sobjects`)).status).toBe(200);
    const refused = await get(`${V}/sobjects`);
    expect(refused.status).toBe(403);
    expect(firstError(refused)).toEqual({
      errorCode: 'REQUEST_LIMIT_EXCEEDED',
      message: 'TotalRequests Limit exceeded.',
    });
    expect((await rawRequest(sf, 'GET', '/services/data/')).status).toBe(200);
    sf.admin.setDailyApiLimit(5_000_000);
    expect((await get(`${V}/sobjects`)).status).toBe(200);
  });
});

describe('fault injection', () => {
  it('down: every data request gets 503 until cleared; token calls still work', async () => {
    sf.admin.setFaults({ down: true });
    const res = await get(`${V}/sobjects`);
    expect(res.status).toBe(503);
    expect(firstError(res).errorCode).toBe('SERVER_UNAVAILABLE');
    expect(typeof (await clientToken(sf))).toBe('string');
    sf.admin.setFaults({});
    expect((await get(`${V}/sobjects`)).status).toBe(200);
  });

  it('unavailable and rate-limit shares', async () => {
    sf.admin.setFaults({ unavailableRate: 1 });
    expect((await get(`${V}/limits`)).status).toBe(503);
    sf.admin.setFaults({ rateLimitRate: 1 });
    const limited = await get(`${V}/limits`);
    expect(limited.status).toBe(403);
    expect(firstError(limited).errorCode).toBe('REQUEST_LIMIT_EXCEEDED');
    sf.admin.setFaults({ unavailableRate: 0, rateLimitRate: 0 });
    expect((await get(`${V}/limits`)).status).toBe(200);
  });

  it('resetOnRequest cuts the Nth data response mid-body, once', async () => {
    sf.admin.setFaults({ resetOnRequest: 2 });
    const q = `${V}/query?q=${encodeURIComponent('SELECT Id, Name FROM Contact')}`;
    expect((await get(q)).status).toBe(200);
    await expect(get(q)).rejects.toThrow(/aborted|incomplete|socket hang up|ECONNRESET/);
    expect((await get(q)).status).toBe(200);
    sf.admin.setFaults({ resetRate: 1 });
    await expect(get(q)).rejects.toThrow(/aborted|incomplete|socket hang up|ECONNRESET/);
    sf.admin.setFaults({ latencyMs: 5 });
    expect((await get(q)).status).toBe(200);
    sf.admin.setFaults({});
  });

  it('expired tokens get 401 until a new token is fetched', async () => {
    sf.admin.expireTokens();
    expect((await get(`${V}/limits`)).status).toBe(401);
    token = await clientToken(sf);
    expect((await get(`${V}/limits`)).status).toBe(200);
  });
});

describe('admin records and metadata', () => {
  it('create, update, delete with back-dated stamps; get, count and list', async () => {
    const at = new Date('2025-06-01T12:00:00Z');
    const id = sf.admin.createRecord('Contact', { LastName: 'Admin', Email: 'admin@example.com' }, { at });
    expect(sf.admin.getRecord('Contact', id)).toMatchObject({
      Id: id,
      LastName: 'Admin',
      SystemModstamp: '2025-06-01T12:00:00.000+0000',
      CreatedDate: '2025-06-01T12:00:00.000+0000',
    });
    sf.admin.updateRecord('Contact', id, { Title: 'Changed' }, { at: new Date('2025-06-02T00:00:00Z') });
    expect(sf.admin.getRecord('Contact', id)).toMatchObject({
      Title: 'Changed',
      LastModifiedDate: '2025-06-02T00:00:00.000+0000',
      CreatedDate: '2025-06-01T12:00:00.000+0000',
    });
    const live = sf.admin.countRecords('Contact');
    sf.admin.deleteRecord('Contact', id);
    expect(sf.admin.countRecords('Contact')).toBe(live - 1);
    expect(sf.admin.countRecords('Contact', { includeDeleted: true })).toBe(live);
    expect(sf.admin.getRecord('Contact', id)).toMatchObject({ IsDeleted: true });
    expect(sf.admin.listIds('Contact', 3)).toHaveLength(3);
  });

  it('getDeleted purges deletions older than the retention window', async () => {
    const now = Date.now();
    const old = sf.admin.createRecord('Contact', { LastName: 'Old' }, { at: new Date(now - 20 * 86_400_000) });
    sf.admin.deleteRecord('Contact', old, { at: new Date(now - 16 * 86_400_000) });
    const recent = sf.admin.createRecord('Contact', { LastName: 'Recent' });
    sf.admin.deleteRecord('Contact', recent, { at: new Date(now - 86_400_000) });
    const start = encodeURIComponent(new Date(now - 30 * 86_400_000).toISOString());
    const end = encodeURIComponent(new Date(now).toISOString());
    const res = await get(`${V}/sobjects/Contact/deleted/?start=${start}&end=${end}`);
    const body = res.json as { deletedRecords: { id: string }[]; earliestDateAvailable: string };
    const ids = body.deletedRecords.map((r) => r.id);
    expect(ids).toContain(recent);
    expect(ids).not.toContain(old);
    expect(Date.parse(body.earliestDateAvailable.replace('+0000', 'Z'))).toBeGreaterThan(now - 16 * 86_400_000);
    expect(sf.admin.getRecord('Contact', old)).toBeUndefined();
    expect(sf.admin.getRecord('Contact', recent)).toMatchObject({ IsDeleted: true });
  });

  it('fields: add (then query and describe it), change length, add a picklist value, remove', async () => {
    sf.admin.addField('Contact', { name: 'Nickname__c', type: 'string', length: 10, label: 'Nickname' });
    const describe = (await get(`${V}/sobjects/Contact/describe`)).json as {
      fields: { name: string; length: number }[];
    };
    expect(describe.fields.find((f) => f.name === 'Nickname__c')).toMatchObject({ length: 10 });
    const created = await rawRequest(sf, 'POST', `${V}/sobjects/Contact`, {
      token,
      body: { LastName: 'Nick', Nickname__c: 'Shorty' },
    });
    expect(created.status).toBe(201);
    const q = await get(
      `${V}/query?q=${encodeURIComponent("SELECT Nickname__c FROM Contact WHERE Nickname__c = 'shorty'")}`,
    );
    expect(q.json).toMatchObject({ totalSize: 1, records: [{ Nickname__c: 'Shorty' }] });
    sf.admin.changeField('Contact', 'Nickname__c', { length: 3 });
    const tooLong = await rawRequest(sf, 'POST', `${V}/sobjects/Contact`, {
      token,
      body: { LastName: 'Nick', Nickname__c: 'Shorty' },
    });
    expect(firstError(tooLong).errorCode).toBe('STRING_TOO_LONG');
    sf.admin.addPicklistValue('Contact', 'Loyalty_Tier__c', { value: 'Diamond' });
    expect(
      (
        await rawRequest(sf, 'POST', `${V}/sobjects/Contact`, {
          token,
          body: { LastName: 'Rich', Loyalty_Tier__c: 'Diamond' },
        })
      ).status,
    ).toBe(201);
    sf.admin.removeField('Contact', 'Nickname__c');
    expect(
      firstError(await get(`${V}/query?q=${encodeURIComponent('SELECT Nickname__c FROM Contact')}`)).errorCode,
    ).toBe('INVALID_FIELD');
  });

  it('the same operations over HTTPS under /_sandbox (loopback only, no token)', async () => {
    const created = await rawRequest(sf, 'POST', '/_sandbox/records/Account', {
      body: { values: { Name: 'Über GmbH' }, at: '2025-01-01T00:00:00Z' },
    });
    expect(created.status).toBe(201);
    const id = (created.json as { id: string }).id;
    expect((await rawRequest(sf, 'GET', `/_sandbox/records/Account/${id}`)).json).toMatchObject({
      Name: 'Über GmbH',
      SystemModstamp: '2025-01-01T00:00:00.000+0000',
    });
    expect(
      (await rawRequest(sf, 'PATCH', `/_sandbox/records/Account/${id}`, { body: { values: { Industry: 'Retail' } } }))
        .status,
    ).toBe(204);
    const before = ((await rawRequest(sf, 'GET', '/_sandbox/records/Account/count')).json as { count: number }).count;
    expect((await rawRequest(sf, 'DELETE', `/_sandbox/records/Account/${id}`)).status).toBe(204);
    expect(((await rawRequest(sf, 'GET', '/_sandbox/records/Account/count')).json as { count: number }).count).toBe(
      before - 1,
    );
    expect((await rawRequest(sf, 'PUT', '/_sandbox/faults', { body: { down: true } })).status).toBe(204);
    expect((await get(`${V}/limits`)).status).toBe(503);
    expect((await rawRequest(sf, 'PUT', '/_sandbox/faults', { body: {} })).status).toBe(204);
    expect((await rawRequest(sf, 'GET', '/_sandbox/requests')).json).toMatchObject({
      count: expect.any(Number),
      counts: expect.any(Object),
    });
    expect(
      (await rawRequest(sf, 'POST', '/_sandbox/fields/Lead', { body: { name: 'Source_Detail__c', type: 'textarea' } }))
        .status,
    ).toBe(204);
    expect(sf.admin.getRecord('Lead', sf.admin.listIds('Lead', 1)[0] as string)).toHaveProperty(
      'Source_Detail__c',
      null,
    );
    expect((await rawRequest(sf, 'GET', '/_sandbox/nope')).status).toBe(404);
  });
});

describe('seeded data', () => {
  it('the same seed gives the same data; another seed gives other data', async () => {
    const soql = encodeURIComponent(
      'SELECT Id, FirstName, LastName, Email, Account.Name, SystemModstamp, Loyalty_Tier__c, Score__c FROM Contact ORDER BY Id',
    );
    const snapshot = async (s: SalesforceSandbox) =>
      (await rawRequest(s, 'GET', `${V}/query?q=${soql}`, { token: await clientToken(s) })).text;
    const a = await startSalesforceSandbox({ records: 300, seed: 42 });
    const b = await startSalesforceSandbox({ records: 300, seed: 42 });
    try {
      const [ta, tb] = [await snapshot(a), await snapshot(b)];
      expect(ta).toBe(tb);
      expect(a.seeded).toMatchObject({
        Contact: 300,
        Account: 30,
        Lead: 60,
        Opportunity: 30,
        Order: 15,
        OrderItem: 30,
      });
      const records = (JSON.parse(ta) as { records: { LastName: string; SystemModstamp: string }[] }).records;
      const names = records.map((r) => r.LastName).join(' ');
      expect(names).toMatch(/O'Brien/);
      expect(names).toMatch(/[\u3040-\u30ff\u4e00-\u9fff]|[\u0370-\u03ff]|Ø|ü/);
      const stamps = new Set(records.map((r) => r.SystemModstamp));
      expect(stamps.size).toBeLessThan(records.length);
      // Another seed, straight into a store (no server needed to compare the generated values).
      const other = new RecordStore(new Database(':memory:'), buildCatalog(), () => new Date(), '005Lz0000000001IAA');
      seedData(other, 300, 43, '005Lz0000000001IAA');
      const otherNames = (
        other.db.prepare('SELECT "LastName" FROM "Contact" ORDER BY "_rid"').pluck().all() as string[]
      ).join(' ');
      const sameSeed = new RecordStore(
        new Database(':memory:'),
        buildCatalog(),
        () => new Date(),
        '005Lz0000000001IAA',
      );
      seedData(sameSeed, 300, 42, '005Lz0000000001IAA');
      const sameNames = (
        sameSeed.db.prepare('SELECT "LastName" FROM "Contact" ORDER BY "_rid"').pluck().all() as string[]
      ).join(' ');
      expect(sameNames).toBe(names);
      expect(otherNames).not.toBe(names);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
    }
  });
});
