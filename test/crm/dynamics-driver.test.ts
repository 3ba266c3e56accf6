import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamicsDriver } from '../../src/crm/dynamics/dynamics-driver.js';
import type { CrmDriver, CrmRecord, QueryRequest } from '../../src/crm/driver.js';
import { startDynamicsSandbox, type DynamicsSandbox } from '../../src/sandbox/dynamics/index.js';
import { describeDriverConformance } from './driver-conformance.js';
import { dynamicsSettings } from './dynamics-setup.js';

const SEEDED = 5000;

async function collect(driver: CrmDriver, request: QueryRequest): Promise<CrmRecord[]> {
  const out: CrmRecord[] = [];
  for await (const page of driver.query(request)) out.push(...page.records);
  return out;
}

describe('Dynamics driver against the Dataverse sandbox', () => {
  let sandbox: DynamicsSandbox;
  let dir: string;
  const drivers: CrmDriver[] = [];
  const open = (...args: Parameters<typeof dynamicsSettings>): CrmDriver => {
    const driver = createDynamicsDriver(dynamicsSettings(...args));
    drivers.push(driver);
    return driver;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'liaison-dyn-'));
    sandbox = await startDynamicsSandbox({ port: 0, host: '127.0.0.1', records: SEEDED, dataDir: dir, seed: 7 });
  });

  afterAll(async () => {
    for (const driver of drivers) await driver.close();
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  describe('connection', () => {
    it.each(['client-secret', 'certificate', 'password'] as const)(
      'authenticates with %s and answers WhoAmI',
      async (mode) => {
        const driver = open(sandbox, mode);
        const result = await driver.testConnection();
        expect(result.ok).toBe(true);
        expect(result.identity).toMatch(/^[0-9a-f-]{36}$/);
        expect(result.instanceUrl).toBe(new URL(sandbox.url).origin);
        expect(result.apiCalls).toBe(driver.apiCalls);
        expect(result.apiCalls).toBeGreaterThanOrEqual(2); // a token call and WhoAmI
      },
    );

    it('reports a wrong secret as auth_failed with the AADSTS code', async () => {
      const settings = dynamicsSettings(sandbox, 'client-secret');
      const driver = createDynamicsDriver({
        ...settings,
        auth: { ...settings.auth, clientSecret: 'definitely-wrong-secret' },
      });
      drivers.push(driver);
      const error = await driver.testConnection().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'auth_failed' });
      expect((error as Error).message).toMatch(/AADSTS\d+/);
      expect((error as Error).message).not.toContain('definitely-wrong-secret');
    });

    it('reports a missing CA as tls_error', async () => {
      const driver = open(sandbox, 'client-secret', { caFile: undefined });
      await expect(driver.testConnection()).rejects.toMatchObject({ code: 'tls_error' });
    });

    it('reports an API version the server does not serve as unsupported_version', async () => {
      const driver = open(sandbox, 'client-secret', { apiVersion: '1.0' });
      await expect(driver.testConnection()).rejects.toMatchObject({ code: 'unsupported_version' });
    });

    it('reports an unknown host as dns_error', async () => {
      const settings = dynamicsSettings(sandbox, 'client-secret', { url: 'https://no-such-host.invalid' });
      const driver = createDynamicsDriver({
        ...settings,
        auth: { ...settings.auth, authorityUrl: 'https://login.no-such-host.invalid' },
      });
      drivers.push(driver);
      await expect(driver.testConnection()).rejects.toMatchObject({ code: 'dns_error' });
    });
  });

  describe('metadata', () => {
    it('lists tables', async () => {
      const objects = await open(sandbox).listObjects();
      const names = objects.map((o) => o.name);
      expect(names).toEqual(expect.arrayContaining(['contact', 'account', 'lead']));
      expect(objects.find((o) => o.name === 'contact')).toMatchObject({ label: 'Contact', queryable: true });
    });

    it('describes a table case-insensitively with option sets, multi-select and the customer lookup', async () => {
      const meta = await open(sandbox).describeObject('Contact');
      expect(meta).toMatchObject({
        name: 'contact',
        idField: 'contactid',
        modstampField: 'modifiedon',
        collectionName: 'contacts',
      });
      const byName = new Map(meta.fields.map((f) => [f.name, f]));
      expect(byName.get('gendercode')).toMatchObject({
        type: 'picklist',
        crmType: 'Picklist',
        picklist: {
          values: [
            { value: '1', label: 'Male' },
            { value: '2', label: 'Female' },
          ],
        },
      });
      const interests = byName.get('lia_interests');
      expect(interests).toMatchObject({ type: 'multipicklist', crmType: 'MultiSelectPicklist' });
      expect(interests?.picklist?.values.length).toBeGreaterThan(1);
      expect(byName.get('lia_loyaltytier')?.picklist?.globalName).toBe('lia_loyaltytier');
      expect(byName.get('parentcustomerid')).toMatchObject({
        type: 'reference',
        crmType: 'Customer',
        referenceTo: ['account', 'contact'],
      });
      expect(byName.get('statuscode')?.picklist?.controllerName).toBe('statecode');
      expect(byName.get('emailaddress1')?.type).toBe('email');
      expect(byName.get('birthdate')?.type).toBe('date');
      expect(byName.get('modifiedon')).toMatchObject({ type: 'datetime', isModstamp: true });
      expect(byName.get('creditlimit')).toMatchObject({ type: 'decimal', scale: 2 });
      expect(byName.get('lia_customernumber')).toMatchObject({ externalId: true, length: 20 });
    });

    it('reports an unknown table as object_not_found', async () => {
      await expect(open(sandbox).describeObject('nosuchtable')).rejects.toMatchObject({ code: 'object_not_found' });
      await expect(open(sandbox).describeObject("contact') or (1 eq 1")).rejects.toMatchObject({
        code: 'object_not_found',
      });
    });
  });

  describe('query', () => {
    it('streams every contact over several pages without duplicates, one call per page', async () => {
      const driver = createDynamicsDriver(dynamicsSettings(sandbox), { readParallelism: 1 });
      drivers.push(driver);
      await driver.describeObject('contact');
      const before = driver.apiCalls;
      sandbox.admin.resetRequestCount();
      const ids = new Set<string>();
      let pages = 0;
      for await (const page of driver.query({
        object: 'contact',
        fields: ['lastname', 'parentcustomerid', 'lia_interests', 'modifiedon'],
        pageSize: 500,
      })) {
        pages += 1;
        expect(page.records.length).toBeLessThanOrEqual(500);
        for (const record of page.records) ids.add(record.id);
      }
      const live = sandbox.admin.countRecords('contact');
      expect(ids.size).toBe(live);
      expect(pages).toBe(Math.ceil(live / 500));
      expect(driver.apiCalls - before).toBe(pages); // the token was still valid: no token call
      expect(sandbox.admin.requestCount()).toBe(pages);
    });

    it('asks for a table and its columns at once before a first read', async () => {
      const driver = createDynamicsDriver(dynamicsSettings(sandbox), { readParallelism: 1 });
      drivers.push(driver);
      sandbox.admin.resetRequestCount();
      // Each request waits in the server, so two requests sent together are there at the same time.
      sandbox.admin.setFaults({ latencyMs: 150 });
      try {
        const filter = { kind: 'compare' as const, field: 'lastname', op: '=' as const, value: 'Nobody-at-all' };
        const pages = [];
        for await (const page of driver.query({ object: 'contact', fields: ['lastname'], filter })) pages.push(page);
        expect(pages.flatMap((p) => p.records)).toEqual([]);
      } finally {
        sandbox.admin.setFaults({});
      }
      expect(sandbox.admin.requestCounts()).toMatchObject({ metadata: 2, query: 1 });
      // One after the other, never two would be in flight: the read waits one round trip for its metadata, not two.
      expect(sandbox.admin.peakConcurrentRequests()).toBe(2);
    });

    it('sends the bound probes of a full read with its metadata calls when its names and entity set were described', async () => {
      const read = async (extra: Partial<QueryRequest>) => {
        const driver = createDynamicsDriver(dynamicsSettings(sandbox));
        drivers.push(driver);
        sandbox.admin.resetRequestCount();
        sandbox.admin.setFaults({ latencyMs: 150 });
        try {
          const ids: string[] = [];
          for await (const page of driver.query({ object: 'contact', fields: ['lastname'], ...extra }))
            ids.push(...page.records.map((r) => r.id));
          const kinds = sandbox.admin.requestKinds().filter((kind) => kind !== 'token');
          return { ids: ids.sort(), calls: driver.apiCalls, kinds };
        } finally {
          sandbox.admin.setFaults({});
        }
      };
      const plain = await read({});
      const early = await read({ namesDescribed: true, collectionName: 'contacts' });
      // Without a guess no query can go out before the metadata has answered; here the probes go out with it (over
      // separate connections, so the order among them is the network's: the first one rides the token's).
      expect(plain.kinds.slice(0, 2)).toEqual(['metadata', 'metadata']);
      expect(early.kinds.slice(0, 4).sort()).toEqual(['metadata', 'metadata', 'query', 'query']);
      expect(early.kinds.indexOf('query')).toBeLessThan(early.kinds.lastIndexOf('metadata'));
      expect(early.ids).toEqual(plain.ids);
      expect(early.calls).toBe(plain.calls);
      // A wrong entity set: its two probes are lost (Dataverse answers 404), the read is right all the same.
      const wrong = await read({ namesDescribed: true, collectionName: 'contactz' });
      expect(wrong.ids).toEqual(plain.ids);
      expect(wrong.calls).toBe(plain.calls + 2);
    });

    it('reads a full scan in parallel createdon windows: every row once, even with updates during the read', async () => {
      const driver = open(sandbox);
      await driver.describeObject('contact');
      const before = driver.apiCalls;
      sandbox.admin.resetRequestCount();
      const live = sandbox.admin.countRecords('contact');
      const toTouch = sandbox.admin.listIds('contact', 40);
      const seen: string[] = [];
      let pages = 0;
      for await (const page of driver.query({ object: 'contact', fields: ['lastname'], pageSize: 500 })) {
        pages += 1;
        seen.push(...page.records.map((r) => r.id));
        // Updates move rows in modifiedon, never in createdon: the windows must not lose or repeat them.
        if (pages === 2) for (const id of toTouch) sandbox.admin.updateRecord('contact', id, { jobtitle: 'Touched' });
      }
      expect(seen.length).toBe(live);
      expect(new Set(seen).size).toBe(live);
      const calls = driver.apiCalls - before;
      expect(calls).toBe(sandbox.admin.requestCount());
      expect(calls).toBeLessThanOrEqual(Math.ceil(live / 500) + 10);
      expect(calls).toBe(pages + 2); // two bound probes, then one call per page
    });

    it('normalises values: ISO datetimes, multi-select arrays, polymorphic lookup targets', async () => {
      const driver = open(sandbox);
      const records = await collect(driver, {
        object: 'contact',
        fields: ['lastname', 'parentcustomerid', 'lia_interests', 'birthdate', 'gendercode'],
        limit: 300,
      });
      expect(records).toHaveLength(300);
      for (const { values } of records) {
        expect(values['@odata.etag']).toBeUndefined();
        expect(values.modifiedon).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/);
        if (values.lia_interests !== null) expect(Array.isArray(values.lia_interests)).toBe(true);
        if (values.gendercode !== null) expect(typeof values.gendercode).toBe('string');
        if (values.parentcustomerid) expect(['account', 'contact']).toContain(values['parentcustomerid@target']);
      }
      expect(records.some((r) => r.values.parentcustomerid)).toBe(true);
    });

    it('reads incrementally by modifiedSince, including rows sharing one modifiedon', async () => {
      const driver = open(sandbox);
      const at = new Date(Date.UTC(2031, 0, 2, 3, 4, 5));
      const created = Array.from({ length: 7 }, (_, i) =>
        sandbox.admin.createRecord('contact', { lastname: `Same-${i}` }, { at }),
      );
      const window = await collect(driver, {
        object: 'contact',
        fields: ['lastname'],
        modifiedSince: { from: at.toISOString(), to: new Date(at.getTime() + 1000).toISOString() },
      });
      expect(window.map((r) => r.id).sort()).toEqual(created.map((id) => id.toLowerCase()).sort());
      const after = await collect(driver, {
        object: 'contact',
        fields: ['lastname'],
        modifiedSince: { from: new Date(at.getTime() + 1000).toISOString() },
      });
      expect(after.map((r) => r.id)).not.toContain(created[0]!.toLowerCase());
    });

    it('fetches by ids, splitting long lists', async () => {
      const driver = open(sandbox);
      const ids = sandbox.admin.listIds('contact', 400).map((id) => id.toLowerCase());
      const records = await collect(driver, { object: 'contact', fields: ['lastname'], ids });
      expect(records.map((r) => r.id).sort()).toEqual([...ids].sort());
    });

    it('filters with escaped literals', async () => {
      const driver = open(sandbox);
      const id = sandbox.admin.createRecord('contact', { lastname: "O'Brien & Sons #1" });
      const hit = await collect(driver, {
        object: 'contact',
        fields: ['lastname'],
        filter: { kind: 'compare', field: 'lastname', op: '=', value: "O'Brien & Sons #1" },
      });
      expect(hit.map((r) => r.id)).toEqual([id.toLowerCase()]);
      const evil = await collect(driver, {
        object: 'contact',
        fields: ['lastname'],
        filter: { kind: 'compare', field: 'lastname', op: '=', value: "x' or lastname ne '" },
      });
      expect(evil).toEqual([]);
      const like = await collect(driver, {
        object: 'contact',
        fields: ['lastname'],
        filter: { kind: 'like', field: 'lastname', pattern: "O'Brien%" },
      });
      expect(like.map((r) => r.id)).toContain(id.toLowerCase());
    });
  });

  describe('deletions via change tracking', () => {
    it('sets a baseline, then reports deletions since the delta link', async () => {
      const driver = open(sandbox);
      const first = await driver.readDeleted({ object: 'contact' });
      expect(first.earliestDateAvailable).toBeDefined();
      for await (const batch of first.records) expect(batch).toEqual([]);
      const cursor = first.nextCursor();
      expect(cursor).toBeTruthy();
      const victims = sandbox.admin.listIds('contact', 3);
      for (const id of victims) sandbox.admin.deleteRecord('contact', id);
      const second = await driver.readDeleted({ object: 'contact', cursor: cursor! });
      const deleted: string[] = [];
      for await (const batch of second.records) deleted.push(...batch.map((d) => d.id));
      expect(deleted.sort()).toEqual(victims.map((id) => id.toLowerCase()).sort());
      const third = await driver.readDeleted({ object: 'contact', cursor: second.nextCursor()! });
      const again: string[] = [];
      for await (const batch of third.records) again.push(...batch.map((d) => d.id));
      expect(again).toEqual([]);
    });

    it('refuses a cursor pointing at another host', async () => {
      const driver = open(sandbox);
      await expect(
        driver.readDeleted({
          object: 'contact',
          cursor: 'https://attacker.example/api/data/v9.2/contacts?$deltatoken=1',
        }),
      ).rejects.toMatchObject({ code: 'invalid_input' });
    });
  });
});

describeDriverConformance('dynamics', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'liaison-dync-'));
  const sandbox = await startDynamicsSandbox({ port: 0, host: '127.0.0.1', records: 100, dataDir: dir, seed: 5 });
  return {
    driver: createDynamicsDriver(dynamicsSettings(sandbox)),
    admin: sandbox.admin,
    objects: { contact: 'contact' },
    fields: { lastName: 'lastname', email: 'emailaddress1', externalId: 'lia_customernumber' },
    // An option value outside the option set: Dataverse refuses the row, the rest of the batch goes on.
    rejectOnInsert: { lastname: 'Rejected', gendercode: 99 },
    stop: async () => {
      await sandbox.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
});
