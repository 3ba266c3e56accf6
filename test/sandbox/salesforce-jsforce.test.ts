import { readFileSync } from 'node:fs';
import { importPKCS8, SignJWT } from 'jose';
import jsforce from 'jsforce';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.js';
import { trustSandboxGlobally } from './salesforce-helpers.js';

/**
 * The sandbox driven by jsforce exactly as an ordinary jsforce user would, with no Liaison driver code: if jsforce
 * is happy, the wire format is close enough to Salesforce's for real clients.
 */
let sf: SalesforceSandbox;
let conn: jsforce.Connection;
const VERSION = '62.0';
const CONTACTS = 2500;

async function clientCredentialsConnection(): Promise<jsforce.Connection> {
  const cc = sf.credentials['client-credentials'] as Record<string, string>;
  const c = new jsforce.Connection({
    oauth2: { loginUrl: sf.url, clientId: cc.clientId, clientSecret: cc.clientSecret },
    version: VERSION,
  });
  await c.authorize({ grant_type: 'client_credentials' });
  return c;
}

beforeAll(async () => {
  sf = await startSalesforceSandbox({ records: CONTACTS, seed: 11 });
  trustSandboxGlobally(sf);
  conn = await clientCredentialsConnection();
});

afterAll(async () => {
  await sf?.stop();
});

describe('login flows', () => {
  it('client credentials gives a working session with instance URL and identity', async () => {
    const c = await clientCredentialsConnection();
    expect(c.instanceUrl).toBe(sf.url);
    expect(c.accessToken).toMatch(/^00D/);
    const identity = await c.identity();
    expect(identity.username).toBe(sf.credentials.jwt?.username);
  });

  it('username-password (password + security token) through conn.login', async () => {
    const p = sf.credentials.password as Record<string, string>;
    const c = new jsforce.Connection({
      oauth2: { loginUrl: sf.url, clientId: p.clientId, clientSecret: p.clientSecret },
      version: VERSION,
    });
    const info = await c.login(p.username as string, `${p.password}${p.securityToken}`);
    expect(info.organizationId).toMatch(/^00D/);
    expect(info.id).toMatch(/^005/);
    expect((await c.query('SELECT COUNT() FROM Account')).totalSize).toBe(CONTACTS / 10);
    await expect(c.login(p.username as string, p.password as string)).rejects.toThrow(/authentication failure/);
  });

  it('JWT bearer with a jose-signed RS256 assertion', async () => {
    const j = sf.credentials.jwt as Record<string, string>;
    const key = await importPKCS8(readFileSync(j.privateKeyFile as string, 'utf8'), 'RS256');
    const assertion = await new SignJWT({})
      .setProtectedHeader({ alg: 'RS256' })
      .setIssuer(j.clientId as string)
      .setSubject(j.username as string)
      .setAudience(sf.url)
      .setExpirationTime('3m')
      .sign(key);
    const c = new jsforce.Connection({ oauth2: { loginUrl: sf.url, clientId: j.clientId }, version: VERSION });
    await c.authorize({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    expect(c.instanceUrl).toBe(sf.url);
    const res = await c.query<{ Username: string }>('SELECT Username FROM User');
    expect(res.records[0]?.Username).toBe(j.username);
  });
});

describe('describe', () => {
  it('describeGlobal lists the standard and custom objects', async () => {
    const global = await conn.describeGlobal();
    expect(global.encoding).toBe('UTF-8');
    expect(global.maxBatchSize).toBe(200);
    const names = global.sobjects.map((o) => o.name);
    for (const name of [
      'Account',
      'Contact',
      'Lead',
      'Opportunity',
      'Order',
      'OrderItem',
      'Product2',
      'Campaign',
      'CampaignMember',
      'User',
      'Loyalty_Card__c',
    ]) {
      expect(names).toContain(name);
    }
    const card = global.sobjects.find((o) => o.name === 'Loyalty_Card__c');
    expect(card?.custom).toBe(true);
    expect(card?.urls.describe).toBe(`/services/data/v${VERSION}/sobjects/Loyalty_Card__c/describe`);
  });

  it('describe Contact has every field type, the compound address, geolocation and custom fields', async () => {
    const d = await conn.describe('Contact');
    expect(d.keyPrefix).toBe('003');
    const field = (name: string) => d.fields.find((f) => f.name === name);
    const types = new Set(d.fields.map((f) => f.type));
    for (const t of [
      'id',
      'string',
      'textarea',
      'email',
      'phone',
      'url',
      'boolean',
      'int',
      'double',
      'currency',
      'percent',
      'date',
      'datetime',
      'picklist',
      'multipicklist',
      'reference',
      'address',
      'location',
    ]) {
      expect(types).toContain(t);
    }
    expect(field('LastName')).toMatchObject({ type: 'string', length: 80, nillable: false, createable: true });
    expect(field('AccountId')).toMatchObject({
      type: 'reference',
      referenceTo: ['Account'],
      relationshipName: 'Account',
    });
    expect(field('MailingCity')).toMatchObject({ compoundFieldName: 'MailingAddress' });
    expect(field('MailingAddress')).toMatchObject({ type: 'address', createable: false });
    expect(field('Home_Location__Latitude__s')).toMatchObject({
      compoundFieldName: 'Home_Location__c',
      type: 'double',
    });
    expect(field('Loyalty_Tier__c')).toMatchObject({ type: 'picklist', restrictedPicklist: true, custom: true });
    expect(field('Loyalty_Tier__c')?.picklistValues?.map((p) => p.value)).toEqual([
      'Bronze',
      'Silver',
      'Gold',
      'Platinum',
    ]);
    expect(field('Interests__c')?.type).toBe('multipicklist');
    expect(field('Loyalty_Benefit__c')).toMatchObject({ dependentPicklist: true, controllerName: 'Loyalty_Tier__c' });
    // validFor: bit i (MSB first) set when valid for the controller's i-th value; lounge access is Platinum only.
    const lounge = field('Loyalty_Benefit__c')?.picklistValues?.find((p) => p.value === 'Lounge access');
    const bits = Buffer.from(String(lounge?.validFor), 'base64');
    const validFor = [0, 1, 2, 3].filter((i) => ((bits[i >> 3] ?? 0) & (0x80 >> (i % 8))) !== 0);
    expect(validFor).toEqual([3]);
    expect(field('Customer_Number__c')).toMatchObject({ externalId: true, unique: true, type: 'string' });
    expect(field('Score__c')).toMatchObject({ type: 'double', precision: 5, scale: 1 });
    expect(field('SystemModstamp')).toMatchObject({ type: 'datetime', createable: false, updateable: false });
    expect(d.childRelationships.map((r) => `${r.childSObject}.${r.field}:${r.relationshipName}`)).toEqual(
      expect.arrayContaining([
        'Loyalty_Card__c.Contact__c:Loyalty_Cards__r',
        'CampaignMember.ContactId:CampaignMembers',
      ]),
    );
    const order = await conn.describe('Order');
    expect(order.childRelationships.map((r) => r.relationshipName)).toContain('OrderItems');
  });
});

describe('SOQL', () => {
  it('autoFetch follows nextRecordsUrl across pages of 2000', async () => {
    sf.admin.resetRequestCount();
    const result = await conn
      .query<{ Id: string }>('SELECT Id, LastName FROM Contact')
      .run({ autoFetch: true, maxFetch: 100_000 });
    expect(result.totalSize).toBe(CONTACTS);
    expect(result.records).toHaveLength(CONTACTS);
    expect(new Set(result.records.map((r) => r.Id)).size).toBe(CONTACTS);
    expect(sf.admin.requestCounts().query).toBe(2);
  });

  it('maxFetch stops after the first page, which still has a nextRecordsUrl', async () => {
    const result = await conn.query('SELECT Id FROM Contact').run({ autoFetch: true, maxFetch: 2000 });
    expect(result.records).toHaveLength(2000);
    expect(result.done).toBe(false);
    expect(result.nextRecordsUrl).toMatch(new RegExp(`/services/data/v${VERSION}/query/01g[A-Za-z0-9]{15}-2000$`));
  });

  it('parent relationship fields come back nested, with attributes, or null', async () => {
    const orphan = await conn.sobject('Contact').create({ LastName: 'Orphan' });
    const res = await conn.query<Record<string, unknown>>(
      `SELECT Id, Account.Name, Account.Owner.Alias FROM Contact WHERE Id IN ('${(orphan as { id: string }).id}', '${sf.admin.listIds('Contact', 1)[0]}') ORDER BY Account.Name NULLS LAST`,
    );
    const [withAccount, without] = res.records;
    expect(withAccount?.Account).toMatchObject({
      attributes: { type: 'Account' },
      Name: expect.any(String),
      Owner: { attributes: { type: 'User' }, Alias: 'liaison' },
    });
    expect(without?.Account).toBeNull();
  });

  it('filters with escapes, IN, NOT, dates and datetimes, ORDER BY, LIMIT and OFFSET', async () => {
    const obrien = await conn.query<{ LastName: string }>("SELECT LastName FROM Contact WHERE LastName = 'O\\'Brien'");
    expect(obrien.totalSize).toBeGreaterThan(0);
    expect(obrien.records.every((r) => r.LastName === "O'Brien")).toBe(true);
    const tiers = await conn.query<{ Loyalty_Tier__c: string }>(
      "SELECT Loyalty_Tier__c FROM Contact WHERE Loyalty_Tier__c IN ('Gold', 'Platinum') AND NOT (LastName = 'Smith')",
    );
    expect(tiers.records.every((r) => ['Gold', 'Platinum'].includes(r.Loyalty_Tier__c))).toBe(true);
    const born = await conn.query<{ Birthdate: string }>(
      'SELECT Birthdate FROM Contact WHERE Birthdate >= 1990-01-01 AND Birthdate < 2000-01-01 ORDER BY Birthdate DESC LIMIT 5',
    );
    expect(born.records).toHaveLength(5);
    const dates = born.records.map((r) => r.Birthdate);
    expect([...dates].sort().reverse()).toEqual(dates);
    expect(dates.every((d) => d >= '1990-01-01' && d < '2000-01-01')).toBe(true);
    const stamped = await conn.query<{ SystemModstamp: string }>(
      'SELECT SystemModstamp FROM Contact WHERE SystemModstamp > 2024-01-01T08:05:00Z ORDER BY SystemModstamp LIMIT 3 OFFSET 2',
    );
    expect(stamped.records[0]?.SystemModstamp).toMatch(/^2024-01-01T\d{2}:\d{2}:\d{2}\.000\+0000$/);
    expect(stamped.records.every((r) => r.SystemModstamp > '2024-01-01T08:05:00.000+0000')).toBe(true);
    const count = await conn.query('SELECT COUNT() FROM Contact WHERE HasOptedOutOfEmail = true');
    expect(count.totalSize).toBeGreaterThan(0);
    expect(count.records).toEqual([]);
  });

  it('child relationship subqueries come back as nested query results', async () => {
    const res = await conn.query<{
      Name: string;
      Contacts: { totalSize: number; done: boolean; records: { LastName: string }[] } | null;
    }>('SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account ORDER BY Name LIMIT 3');
    expect(res.records).toHaveLength(3);
    for (const account of res.records) {
      expect(account.Contacts?.done).toBe(true);
      expect(account.Contacts?.records.length).toBe(account.Contacts?.totalSize);
      const names = account.Contacts?.records.map((c) => c.LastName) ?? [];
      expect(names.length).toBeGreaterThan(0);
    }
  });

  it('queryAll sees deleted records with IsDeleted = true; query does not', async () => {
    const { id } = (await conn.sobject('Contact').create({ LastName: 'Gone Soon' })) as { id: string };
    await conn.sobject('Contact').destroy(id);
    const live = await conn.query(`SELECT Id FROM Contact WHERE Id = '${id}'`);
    expect(live.totalSize).toBe(0);
    const all = await conn.query<{ Id: string; IsDeleted: boolean }>(
      `SELECT Id, IsDeleted FROM Contact WHERE IsDeleted = true AND Id = '${id}'`,
      { scanAll: true },
    );
    expect(all.records).toEqual([expect.objectContaining({ Id: id, IsDeleted: true })]);
  });
});

describe('records', () => {
  it('create, retrieve, update, upsert by external id and destroy', async () => {
    const contact = conn.sobject('Contact');
    const created = (await contact.create({
      FirstName: 'Ελένη',
      LastName: 'Παπαδοπούλου',
      Email: 'eleni@example.gr',
      Customer_Number__c: 'JS-1',
    })) as { id: string; success: boolean };
    expect(created.success).toBe(true);
    expect(created.id).toMatch(/^003[A-Za-z0-9]{15}$/);
    const record = (await contact.retrieve(created.id)) as Record<string, unknown>;
    expect(record).toMatchObject({ LastName: 'Παπαδοπούλου', Name: 'Ελένη Παπαδοπούλου', IsDeleted: false });
    expect(await contact.update({ Id: created.id, Title: 'Buyer' })).toMatchObject({ id: created.id, success: true });
    const updated = await contact.upsert({ Customer_Number__c: 'JS-1', Score__c: 42.5 }, 'Customer_Number__c');
    expect(updated).toMatchObject({ id: created.id, success: true, created: false });
    const inserted = await contact.upsert({ Customer_Number__c: 'JS-2', LastName: 'Nakamura' }, 'Customer_Number__c');
    expect(inserted).toMatchObject({ success: true, created: true });
    expect(((await contact.retrieve(created.id)) as Record<string, unknown>).Score__c).toBe(42.5);
    expect(await contact.destroy(created.id)).toMatchObject({ id: created.id, success: true });
    await expect(contact.retrieve(created.id)).rejects.toMatchObject({ errorCode: 'ENTITY_IS_DELETED' });
  });

  it('sObject Collections: create, update and destroy several records in one call', async () => {
    const contact = conn.sobject('Contact');
    sf.admin.resetRequestCount();
    const results = await contact.create([{ LastName: 'Kowalski' }, { LastName: "D'Angelo" }, { LastName: '' }]);
    expect(results.map((r) => r.success)).toEqual([true, true, false]);
    const failed = results[2] as { errors: { errorCode?: string; statusCode?: string }[] };
    expect(JSON.stringify(failed.errors)).toContain('REQUIRED_FIELD_MISSING');
    const ids = results.filter((r) => r.success).map((r) => (r as { id: string }).id);
    const updates = await contact.update(ids.map((Id) => ({ Id, Title: 'Collector' })));
    expect(updates.every((r) => r.success)).toBe(true);
    const removed = await contact.destroy(ids);
    expect(removed.every((r) => r.success)).toBe(true);
    expect(sf.admin.requestCounts().collections).toBe(3);
  });
});

describe('Bulk API 2.0', () => {
  it('loadAndWaitForResults reports successful and failed rows', async () => {
    conn.bulk2.pollInterval = 50;
    const input = [
      'LastName,FirstName,Customer_Number__c',
      ...Array.from({ length: 30 }, (_, i) => `Bulk${i},"Zoë, ""Z""",BULK-${i}`),
      ',NoLast,BULK-X',
    ].join('\n');
    const results = await conn.bulk2.loadAndWaitForResults({ object: 'Contact', operation: 'insert', input });
    expect(results.successfulResults).toHaveLength(30);
    expect(results.successfulResults[0]).toMatchObject({ sf__Created: 'true', FirstName: 'Zoë, "Z"' });
    expect(results.failedResults).toHaveLength(1);
    expect(results.failedResults[0]).toMatchObject({
      sf__Id: '',
      sf__Error: 'REQUIRED_FIELD_MISSING:Required fields are missing: [LastName]:LastName --',
    });
    expect(results.unprocessedRecords).toHaveLength(0);
    const upsert = await conn.bulk2.loadAndWaitForResults({
      object: 'Contact',
      operation: 'upsert',
      externalIdFieldName: 'Customer_Number__c',
      input: 'Customer_Number__c,Title,LastName\nBULK-1,Upserted,\nBULK-NEW,New,Newman',
    });
    expect(upsert.failedResults).toEqual([]);
    expect(upsert.successfulResults.map((r) => r.sf__Created).sort()).toEqual(['false', 'true']);
  });

  it('hardDelete removes records for good (not even queryAll sees them)', async () => {
    conn.bulk2.pollInterval = 50;
    const ids = sf.admin.listIds('Loyalty_Card__c', 3);
    expect(ids).toHaveLength(3);
    const results = await conn.bulk2.loadAndWaitForResults({
      object: 'Loyalty_Card__c',
      operation: 'hardDelete',
      input: ['Id', ...ids].join('\n'),
    });
    expect(results.successfulResults.map((r) => r.sf__Id).sort()).toEqual([...ids].sort());
    const all = await conn.query(`SELECT Id FROM Loyalty_Card__c WHERE Id IN ('${ids.join("','")}')`, {
      scanAll: true,
    });
    expect(all.totalSize).toBe(0);
    expect(sf.seeded.Loyalty_Card__c).toBe(CONTACTS / 20);
  });

  it('bulk2.query returns every record of a query job', async () => {
    conn.bulk2.pollInterval = 50;
    const records = await (await conn.bulk2.query('SELECT Id, Name, Industry FROM Account')).toArray();
    expect(records).toHaveLength(CONTACTS / 10);
    expect(records[0]).toMatchObject({ Id: expect.stringMatching(/^001/), Name: expect.any(String) });
  });
});

describe('replication and limits', () => {
  it('getUpdated and getDeleted report changes in a window (seconds ignored, end clamped to now)', async () => {
    const now = Date.now();
    // Changes stamped a few minutes ago: the window's current minute is not covered yet, as in Salesforce.
    const id = sf.admin.createRecord('Contact', { LastName: 'Replicated' }, { at: new Date(now - 4 * 60_000) });
    const start = new Date(now - 10 * 60_000);
    const updated = await conn.sobject('Contact').updated(start, new Date(now + 60_000));
    expect(updated.ids).toContain(id);
    expect(updated.latestDateCovered).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00\.000\+0000$/);
    expect(Date.parse(updated.latestDateCovered.replace('+0000', 'Z'))).toBeLessThanOrEqual(now);
    sf.admin.deleteRecord('Contact', id, { at: new Date(now - 3 * 60_000) });
    const deleted = await conn.sobject('Contact').deleted(start, new Date(now));
    expect(deleted.deletedRecords.map((r) => r.id)).toContain(id);
    expect(deleted.deletedRecords.find((r) => r.id === id)?.deletedDate).toMatch(/\.000\+0000$/);
    expect(deleted.earliestDateAvailable).toMatch(/\+0000$/);
    expect((await conn.sobject('Contact').updated(start, new Date(now))).ids).not.toContain(id);
  });

  it('limits and the Sforce-Limit-Info header', async () => {
    const limits = await conn.limits();
    expect(limits.DailyApiRequests?.Max).toBe(5_000_000);
    expect(limits.DailyApiRequests?.Remaining).toBeLessThan(5_000_000);
    await conn.query('SELECT Id FROM User');
    expect(conn.limitInfo.apiUsage?.limit).toBe(5_000_000);
    expect(conn.limitInfo.apiUsage?.used).toBeGreaterThan(0);
  });
});
