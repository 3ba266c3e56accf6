import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type DynamicsSandbox, startDynamicsSandbox } from '../../src/sandbox/dynamics/index.js';
import { rawClient, type RawCallOptions, type RawReply, secretToken } from './dynamics-client-helpers.js';

/** Admin API (in-process and over HTTPS), request accounting, service protection, fault injection, seeded data. */

let sandbox: DynamicsSandbox;
let token: string;

const clients = new Map<DynamicsSandbox, ReturnType<typeof rawClient>>();

function call(
  method: string,
  path: string,
  options: RawCallOptions & { sb?: DynamicsSandbox } = {},
): Promise<RawReply> {
  const sb = options.sb ?? sandbox;
  let client = clients.get(sb);
  if (!client) {
    client = rawClient(sb.url, sb.caFile, () => token);
    clients.set(sb, client);
  }
  return client(method, path, options);
}

async function getToken(sb: DynamicsSandbox): Promise<string> {
  return secretToken(sb);
}

beforeAll(async () => {
  sandbox = await startDynamicsSandbox({ records: 300, seed: 5 });
  token = await getToken(sandbox);
});

afterAll(async () => {
  await sandbox?.stop();
});

afterEach(() => {
  sandbox.admin.setFaults({});
  sandbox.admin.setServiceProtection({ requests: 10_000_000, windowSeconds: 300 });
});

describe('request accounting', () => {
  it('counts every request by kind', async () => {
    sandbox.admin.resetRequestCount();
    token = await getToken(sandbox);
    await call('GET', "/api/data/v9.2/EntityDefinitions(LogicalName='contact')");
    await call('GET', '/api/data/v9.2/contacts?$top=1');
    await call('GET', '/api/data/v9.2/contacts?$top=1');
    await call('POST', '/api/data/v9.2/contacts', {
      body: '{"lastname":"Counted"}',
      headers: { 'Content-Type': 'application/json' },
    });
    await call('GET', '/api/data/v9.2/WhoAmI');
    expect(sandbox.admin.requestCounts()).toEqual({ token: 1, metadata: 1, query: 2, write: 1, other: 1 });
    expect(sandbox.admin.requestCount()).toBe(6);
    const overHttp = await call('GET', '/_sandbox/requests');
    expect(JSON.parse(overHttp.text)).toEqual({
      total: 6,
      byKind: { token: 1, metadata: 1, query: 2, write: 1, other: 1 },
    });
  });
});

describe('service protection and faults', () => {
  it('answers 429 with Retry-After and 0x80072322 once the window is full', async () => {
    sandbox.admin.setServiceProtection({ requests: 3, windowSeconds: 60 });
    for (let i = 0; i < 3; i++) expect((await call('GET', '/api/data/v9.2/WhoAmI')).status).toBe(200);
    const limited = await call('GET', '/api/data/v9.2/WhoAmI');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(JSON.parse(limited.text)).toEqual({
      error: {
        code: '0x80072322',
        message: 'Number of requests exceeded the limit of 3 over time window of 60 seconds.',
      },
    });
  });

  it('answers 429 with 0x80072326 beyond the concurrent request limit', async () => {
    sandbox.admin.setServiceProtection({ requests: 10_000_000, windowSeconds: 300, concurrentRequests: 1 });
    // Latency keeps the first request in the server while the second arrives.
    sandbox.admin.setFaults({ latencyMs: 1000 });
    const replies = await Promise.all([call('GET', '/api/data/v9.2/WhoAmI'), call('GET', '/api/data/v9.2/WhoAmI')]);
    const statuses = replies.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 429]);
    expect(JSON.parse(replies.find((r) => r.status === 429)!.text)).toEqual({
      error: { code: '0x80072326', message: 'Number of concurrent requests exceeded the limit of 1.' },
    });
  });

  it('injects 503s, 429s, downtime and latency', async () => {
    sandbox.admin.setFaults({ unavailableRate: 1 });
    expect((await call('GET', '/api/data/v9.2/WhoAmI')).status).toBe(503);
    sandbox.admin.setFaults({ rateLimitRate: 1 });
    const limited = await call('GET', '/api/data/v9.2/WhoAmI');
    expect(limited.status).toBe(429);
    expect(limited.headers['retry-after']).toBeDefined();
    sandbox.admin.setFaults({ down: true });
    expect((await call('GET', '/api/data/v9.2/contacts')).status).toBe(503);
    // Token calls are not data requests: a CRM that went away still lets clients authenticate.
    expect(await getToken(sandbox)).toMatch(/^ey/);
    sandbox.admin.setFaults({ latencyMs: 20 });
    expect((await call('GET', '/api/data/v9.2/WhoAmI')).status).toBe(200);
    sandbox.admin.setFaults({});
    expect((await call('GET', '/api/data/v9.2/contacts?$top=1')).status).toBe(200);
  });

  it('resets the connection mid-body on the Nth data request, once', async () => {
    sandbox.admin.setFaults({ resetOnRequest: 2 });
    expect((await call('GET', '/api/data/v9.2/contacts?$top=5')).status).toBe(200);
    await expect(call('GET', '/api/data/v9.2/contacts?$top=50')).rejects.toThrow();
    expect((await call('GET', '/api/data/v9.2/contacts?$top=5')).status).toBe(200);
  });

  it('serves the admin API over HTTPS to loopback clients', async () => {
    const put = await call('PUT', '/_sandbox/faults', {
      body: JSON.stringify({ down: true }),
      headers: { 'Content-Type': 'application/json' },
    });
    expect(put.status).toBe(204);
    expect((await call('GET', '/api/data/v9.2/WhoAmI')).status).toBe(503);
    await call('PUT', '/_sandbox/faults', { body: '{}', headers: { 'Content-Type': 'application/json' } });
    const created = await call('POST', '/_sandbox/records/contact', {
      body: JSON.stringify({ values: { lastname: 'Över HTTP' }, at: '2025-02-03T04:05:06Z' }),
    });
    const { id } = JSON.parse(created.text) as { id: string };
    const record = JSON.parse((await call('GET', `/_sandbox/records/contact/${id}`)).text) as Record<string, unknown>;
    expect(record).toMatchObject({
      lastname: 'Över HTTP',
      modifiedon: '2025-02-03T04:05:06Z',
      createdon: '2025-02-03T04:05:06Z',
    });
    expect((await call('DELETE', `/_sandbox/records/contact/${id}`)).status).toBe(204);
    expect((await call('GET', `/_sandbox/records/contact/${id}`)).status).toBe(404);
    await call('POST', '/_sandbox/expire-tokens');
    expect((await call('GET', '/api/data/v9.2/WhoAmI')).status).toBe(401);
    token = await getToken(sandbox);
  });
});

describe('in-process admin', () => {
  it('creates, updates and deletes with explicit stamps and monotonic versions', async () => {
    const at = new Date('2024-06-01T12:00:00Z');
    const id = sandbox.admin.createRecord('contact', { lastname: 'Stamp', lia_loyaltytier: 100000002 }, { at });
    const v1 = sandbox.admin.currentVersion();
    expect(sandbox.admin.getRecord('contact', id)).toMatchObject({
      modifiedon: '2024-06-01T12:00:00Z',
      versionnumber: v1,
      lia_loyaltytier: 100000002,
    });
    sandbox.admin.updateRecord('contact', id, { jobtitle: 'Later' }, { at: new Date('2024-06-02T00:00:00Z') });
    const row = sandbox.admin.getRecord('contact', id)!;
    expect(row.versionnumber as number).toBeGreaterThan(v1);
    expect(row.modifiedon).toBe('2024-06-02T00:00:00Z');
    expect(row.createdon).toBe('2024-06-01T12:00:00Z');
    const live = sandbox.admin.countRecords('contact');
    sandbox.admin.deleteRecord('contact', id);
    expect(sandbox.admin.countRecords('contact')).toBe(live - 1);
    expect(sandbox.admin.countRecords('contact', { includeDeleted: true })).toBeGreaterThanOrEqual(live);
  });

  it('adds, changes and removes fields and picklist values, visible in metadata and writes', async () => {
    sandbox.admin.addField('contact', { name: 'lia_nickname', type: 'String', length: 10, label: 'Nickname' });
    sandbox.admin.addField('contact', {
      name: 'lia_size',
      type: 'Picklist',
      options: [{ value: '100000000', label: 'S' }],
    });
    const meta = JSON.parse(
      (
        await call(
          'GET',
          "/api/data/v9.2/EntityDefinitions(LogicalName='contact')/Attributes(LogicalName='lia_nickname')/Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=LogicalName,MaxLength",
        )
      ).text,
    ) as Record<string, unknown>;
    expect(meta).toMatchObject({ LogicalName: 'lia_nickname', MaxLength: 10 });
    const post = (body: unknown) =>
      call('POST', '/api/data/v9.2/contacts', {
        body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json' },
      });
    expect((await post({ lastname: 'N', lia_nickname: 'x'.repeat(11) })).status).toBe(400);
    sandbox.admin.changeField('contact', 'lia_nickname', { length: 20 });
    expect((await post({ lastname: 'N', lia_nickname: 'x'.repeat(11) })).status).toBe(204);
    expect((await post({ lastname: 'N', lia_size: 100000001 })).status).toBe(400);
    sandbox.admin.addPicklistValue('contact', 'lia_size', { value: '100000001', label: 'M' });
    expect((await post({ lastname: 'N', lia_size: 100000001 })).status).toBe(204);
    sandbox.admin.removeField('contact', 'lia_nickname');
    expect((await call('GET', '/api/data/v9.2/contacts?$select=lia_nickname')).status).toBe(400);
    sandbox.admin.removeField('contact', 'lia_size');
  });
});

describe('seeded data', () => {
  it('is deterministic for a seed and differs across seeds', async () => {
    const [a, b, c] = await Promise.all([
      startDynamicsSandbox({ records: 40, seed: 9 }),
      startDynamicsSandbox({ records: 40, seed: 9 }),
      startDynamicsSandbox({ records: 40, seed: 10 }),
    ]);
    try {
      const idsA = a.admin.listIds('contact', 100);
      expect(idsA).toHaveLength(40);
      expect(b.admin.listIds('contact', 100)).toEqual(idsA);
      expect(c.admin.listIds('contact', 100)).not.toEqual(idsA);
      expect(b.admin.getRecord('contact', idsA[7]!)).toEqual(a.admin.getRecord('contact', idsA[7]!));
      expect(a.admin.countRecords('account')).toBe(4);
      for (const t of ['lead', 'opportunity', 'salesorder', 'salesorderdetail', 'product'])
        expect(a.admin.countRecords(t)).toBeGreaterThan(0);
      expect(a.credentials['client-secret']!.clientId).toBe(b.credentials['client-secret']!.clientId);
    } finally {
      await Promise.all([a.stop(), b.stop(), c.stop()]);
    }
  });

  it('has apostrophes, non-Latin names and shared modifiedon values', () => {
    const rows = sandbox.admin.listIds('contact', 300).map((id) => sandbox.admin.getRecord('contact', id)!);
    const names = rows.map((r) => String(r.fullname));
    expect(names.some((n) => n.includes("'"))).toBe(true);
    expect(names.some((n) => /[^\u0000-\u024f ']/.test(n))).toBe(true);
    const stamps = new Map<string, number>();
    for (const r of rows) stamps.set(String(r.modifiedon), (stamps.get(String(r.modifiedon)) ?? 0) + 1);
    expect(Math.max(...stamps.values())).toBeGreaterThanOrEqual(3);
  });
});
