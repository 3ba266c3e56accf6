import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLiaisonError, LiaisonError } from '../../src/core/errors.js';
import type { CrmDriver, CrmRecord, QueryRequest, RecordPage, WriteItem, WriteOutcome } from '../../src/crm/driver.js';
import { createSalesforceDriver } from '../../src/crm/salesforce/salesforce-driver.js';
import type { SalesforceSandbox } from '../../src/sandbox/salesforce/index.js';
import { describeDriverConformance } from './driver-conformance.js';
import { driverFor, FAST_RETRY, settingsFor, startSandbox } from './salesforce-setup.js';

async function collect(
  pages: AsyncIterable<RecordPage>,
): Promise<{ records: CrmRecord[]; pages: number; totalSize?: number }> {
  const records: CrmRecord[] = [];
  let count = 0;
  let totalSize: number | undefined;
  for await (const page of pages) {
    count++;
    records.push(...page.records);
    totalSize ??= page.totalSize;
  }
  return { records, pages: count, ...(totalSize !== undefined ? { totalSize } : {}) };
}

/** Reads the contacts whose LastName is `tag`, in pages of 200, and counts the driver's calls for it. */
async function readTagged(driver: CrmDriver, tag: string, extra: Partial<QueryRequest> = {}) {
  const before = driver.apiCalls;
  const result = await collect(
    driver.query({
      object: 'Contact',
      fields: ['LastName'],
      pageSize: 200,
      filter: { kind: 'compare', field: 'LastName', op: '=', value: tag },
      ...extra,
    }),
  );
  return { ...result, calls: driver.apiCalls - before, distinct: new Set(result.records.map((r) => r.id)).size };
}

async function failure(promise: Promise<unknown>): Promise<LiaisonError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LiaisonError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

function sortById(records: CrmRecord[]): CrmRecord[] {
  return [...records].sort((a, b) => a.id.localeCompare(b.id));
}

async function* iterate<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

describeDriverConformance('salesforce', async () => {
  const sandbox = await startSandbox({ records: 0 });
  return {
    driver: driverFor(sandbox),
    admin: sandbox.admin,
    objects: { contact: 'Contact' },
    fields: { lastName: 'LastName', email: 'Email', externalId: 'Customer_Number__c' },
    rejectOnInsert: { Email: 'no-last-name@example.com' },
    stop: () => sandbox.stop(),
  };
});

describe('Salesforce driver against the sandbox', () => {
  let sandbox: SalesforceSandbox;
  const drivers: CrmDriver[] = [];
  const track = (d: CrmDriver): CrmDriver => {
    drivers.push(d);
    return d;
  };
  let contacts = 0;

  beforeAll(async () => {
    sandbox = await startSandbox({ records: 5000, seed: 3 });
    contacts = sandbox.admin.countRecords('Contact');
  });

  afterAll(async () => {
    for (const d of drivers) await d.close();
    await sandbox?.stop();
  });

  describe('authentication and connection test', () => {
    for (const mode of ['client-credentials', 'jwt', 'password'] as const) {
      it(`connects with ${mode}`, async () => {
        const driver = track(createSalesforceDriver(settingsFor(sandbox, mode), { retry: FAST_RETRY }));
        const result = await driver.testConnection();
        expect(result).toMatchObject({
          ok: true,
          identity: sandbox.credentials.password?.username,
          instanceUrl: sandbox.url,
          apiVersion: '62.0',
        });
        expect(result.apiCalls).toBe(3); // token, versions, identity
        expect((await driver.describeObject('contact')).name).toBe('Contact');
      });
    }

    it('reports a wrong secret as auth_failed with the OAuth error', async () => {
      const settings = settingsFor(sandbox, 'client-credentials');
      const driver = track(
        createSalesforceDriver(
          { ...settings, auth: { ...settings.auth, clientSecret: 'wrong' } },
          { retry: FAST_RETRY },
        ),
      );
      const error = await failure(driver.testConnection());
      expect(error.code).toBe('auth_failed');
      expect(error.message).toContain('invalid_client');
      expect(error.message).not.toContain('wrong');
      const pw = settingsFor(sandbox, 'password');
      const badPassword = track(
        createSalesforceDriver({ ...pw, auth: { ...pw.auth, password: 'nope' } }, { retry: FAST_RETRY }),
      );
      expect((await failure(badPassword.testConnection())).message).toContain('invalid_grant');
    });

    it('reports a missing CA as tls_error', async () => {
      const { caFile: _caFile, ...settings } = settingsFor(sandbox);
      const error = await failure(track(createSalesforceDriver(settings, { retry: FAST_RETRY })).testConnection());
      expect(error.code).toBe('tls_error');
    });

    it('reports an API version the server does not offer', async () => {
      const error = await failure(
        track(
          createSalesforceDriver(settingsFor(sandbox, 'client-credentials', { apiVersion: '99.0' }), {
            retry: FAST_RETRY,
          }),
        ).testConnection(),
      );
      expect(error.code).toBe('unsupported_version');
      expect(error.message).toContain('99.0');
    });
  });

  describe('discovery', () => {
    it('lists objects and maps describe case-insensitively', async () => {
      const driver = track(driverFor(sandbox));
      const objects = await driver.listObjects();
      expect(objects.map((o) => o.name)).toEqual(expect.arrayContaining(['Account', 'Contact', 'Lead']));
      // The describe is asked for by the name given; an unknown or malformed name is object_not_found.
      const calls = driver.apiCalls;
      expect((await failure(driver.describeObject('NoSuchThing__c'))).code).toBe('object_not_found');
      expect(driver.apiCalls).toBe(calls + 1);
      expect((await failure(driver.describeObject('Contact/../Account'))).code).toBe('object_not_found');
      expect(driver.apiCalls).toBe(calls + 1);
      const meta = await driver.describeObject('CONTACT');
      const f = (n: string) => meta.fields.find((x) => x.name === n);
      expect(meta.modstampField).toBe('SystemModstamp');
      expect(f('SystemModstamp')?.isModstamp).toBe(true);
      expect(f('AccountId')).toMatchObject({
        type: 'reference',
        referenceTo: ['Account'],
        relationshipName: 'Account',
      });
      expect(f('Customer_Number__c')).toMatchObject({ externalId: true, unique: true });
      expect(f('Interests__c')?.type).toBe('multipicklist');
      expect(f('MailingStreet')?.compoundFieldName).toBe('MailingAddress');
      expect(f('Lifetime_Value__c')?.type).toBe('decimal');
      expect(f('Loyalty_Tier__c')?.picklist?.values.length).toBeGreaterThan(0);
    });

    it('describes afresh on every discovery call, so added fields show up', async () => {
      const driver = track(driverFor(sandbox));
      expect((await driver.describeObject('Lead')).fields.some((x) => x.name === 'Drift__c')).toBe(false);
      sandbox.admin.addField('Lead', { name: 'Drift__c', type: 'string', length: 40, label: 'Drift' });
      const field = (await driver.describeObject('Lead')).fields.find((x) => x.name === 'Drift__c');
      expect(field).toMatchObject({ type: 'string', length: 40, crmType: 'string' });
    });
  });

  describe('queries', () => {
    it('pages through every contact: right count, no duplicates, one call per page', async () => {
      const driver = track(driverFor(sandbox, { slices: { count: 1 } }));
      await driver.describeObject('Contact'); // token + describe, outside the count below
      const before = driver.apiCalls;
      const { records, pages } = await collect(
        driver.query({
          object: 'Contact',
          fields: ['LastName', 'Email', 'Account.Name', 'Interests__c', 'Last_Purchase__c'],
          pageSize: 200,
        }),
      );
      expect(records).toHaveLength(contacts);
      expect(new Set(records.map((r) => r.id)).size).toBe(contacts);
      expect(pages).toBe(Math.ceil(contacts / 200));
      expect(driver.apiCalls - before).toBe(pages + 1); // + describe of Account for Account.Name
      for (const r of records.slice(0, 50)) {
        expect(r.values).not.toHaveProperty('attributes');
        expect(String(r.values.SystemModstamp)).toMatch(/Z$/);
        const interests = r.values.Interests__c;
        expect(interests === null || Array.isArray(interests)).toBe(true);
      }
    });

    it('counts API calls as pages + token on a fresh driver', async () => {
      const driver = track(driverFor(sandbox, { slices: { count: 1 } }));
      const { pages, records } = await collect(
        driver.query({ object: 'Contact', fields: ['LastName'], pageSize: 200 }),
      );
      expect(records).toHaveLength(contacts);
      expect(driver.apiCalls).toBe(pages + 1 + 1); // pages + token + describe (no describeGlobal: no polymorphic column)
    });

    it('reads large unordered results in parallel slices without duplicates, within the call budget', async () => {
      const driver = track(driverFor(sandbox, { slices: { count: 4 } }));
      await driver.describeObject('Contact');
      const before = driver.apiCalls;
      sandbox.admin.resetRequestCount();
      const { records, totalSize } = await collect(
        driver.query({ object: 'Contact', fields: ['LastName'], pageSize: 200 }),
      );
      expect(records).toHaveLength(contacts);
      expect(new Set(records.map((r) => r.id)).size).toBe(contacts);
      expect(totalSize).toBe(contacts);
      // The count, two full chunks, and at most one partial page per slice: within ceil(N / 200) + 4 slices.
      expect(driver.apiCalls - before).toBeLessThanOrEqual(Math.ceil(contacts / 200) + 4);
      expect(sandbox.admin.requestCounts().query).toBeGreaterThan(Math.ceil(contacts / 200));
    });

    it('reads the records between the oldest and newest chunks in slices, once each, with chunk ends inside shared modstamps', async () => {
      const driver = track(driverFor(sandbox, { slices: { count: 3 } }));
      await driver.describeObject('Contact');
      const tag = `Ends${Date.now()}`;
      const base = Date.parse('2025-07-01T08:00:00.000Z');
      const create = (n: number, second: number) => {
        for (let i = 0; i < n; i++)
          sandbox.admin.createRecord('Contact', { LastName: tag }, { at: new Date(base + second * 1000) });
      };
      // 250 records share the first second and 250 the last, so both 200-record chunks end inside a shared stamp.
      create(250, 0);
      for (let second = 1; second <= 8; second++) create(100, second);
      create(250, 9);
      const before = driver.apiCalls;
      const { records, totalSize, pages } = await collect(
        driver.query({
          object: 'Contact',
          fields: ['LastName'],
          pageSize: 200,
          filter: { kind: 'compare', field: 'LastName', op: '=', value: tag },
        }),
      );
      expect(records).toHaveLength(1300);
      expect(new Set(records.map((r) => r.id)).size).toBe(1300);
      expect(totalSize).toBe(1300);
      // One round (count, oldest 200, newest 200), then 900 records in three slices cut at whole seconds 3 and 6:
      // 50 + 200, 300 and 300 + 50 records, two pages each.
      expect(driver.apiCalls - before).toBe(3 + 6);
      expect(pages).toBe(2 + 6);
    });

    it('reads an answer within one page, or two overlapping chunks, in one round of three calls', async () => {
      const driver = track(driverFor(sandbox, { slices: { count: 4 } }));
      await driver.describeObject('Contact');
      const read = async (n: number) => {
        const tag = `Small${n}x${Date.now()}`;
        const base = Date.parse('2025-08-01T08:00:00.000Z');
        for (let i = 0; i < n; i++)
          sandbox.admin.createRecord('Contact', { LastName: tag }, { at: new Date(base + Math.floor(i / 7) * 1000) });
        return readTagged(driver, tag);
      };
      // Fewer than a page: the oldest chunk is the answer (the count and the newest chunk went out with it).
      expect(await read(150)).toMatchObject({ distinct: 150, totalSize: 150, pages: 1, calls: 3 });
      expect((await read(150)).records).toHaveLength(150);
      // 300: the newest 200 reach back into the oldest 200; only the 100 newer ones are added.
      const overlap = await read(300);
      expect(overlap).toMatchObject({ distinct: 300, totalSize: 300, calls: 3 });
      expect(overlap.records).toHaveLength(300);
      // Exactly two pages: nothing between the chunks, and one (empty) slice checks that, not four.
      const two = await read(400);
      expect(two).toMatchObject({ distinct: 400, totalSize: 400, calls: 4 });
      expect(two.records).toHaveLength(400);
    });

    it('reads a small incremental answer in one call, and a large one in slices after its first chunk', async () => {
      const driver = track(driverFor(sandbox, { slices: { count: 3 } }));
      await driver.describeObject('Contact');
      const tag = `Incr${Date.now()}`;
      const base = Date.parse('2025-09-01T08:00:00.000Z');
      for (let i = 0; i < 900; i++)
        sandbox.admin.createRecord('Contact', { LastName: tag }, { at: new Date(base + i * 1000) });
      const read = async (from: number) => {
        const { calls, records, distinct } = await readTagged(driver, tag, {
          modifiedSince: { from: new Date(base + from * 1000).toISOString() },
        });
        return { calls, count: records.length, distinct };
      };
      // The last 150: the oldest chunk is the whole answer; neither the newest chunk nor the count is asked for.
      expect(await read(750)).toEqual({ calls: 1, count: 150, distinct: 150 });
      // All 900: a full first chunk, then the newest chunk and the count, then three slices over the 500 between.
      const all = await read(0);
      expect(all).toMatchObject({ count: 900, distinct: 900 });
      expect(all.calls).toBeLessThanOrEqual(3 + Math.ceil(500 / 200) + 3);
    });

    it('reads incrementally when many records share a modstamp', async () => {
      const driver = track(driverFor(sandbox, { slices: { count: 3 } }));
      const at = new Date('2025-06-01T12:00:00.000Z');
      const tag = `Same${Date.now()}`;
      for (let i = 0; i < 450; i++)
        sandbox.admin.createRecord('Contact', { LastName: tag, Email: `s${i}@same.example` }, { at });
      sandbox.admin.createRecord('Contact', { LastName: tag }, { at: new Date(at.getTime() + 1000) }); // Salesforce datetimes have whole seconds
      const q = (from: string, to?: string) =>
        collect(
          driver.query({
            object: 'Contact',
            fields: ['LastName'],
            pageSize: 200,
            filter: { kind: 'compare', field: 'LastName', op: '=', value: tag },
            modifiedSince: { from, ...(to ? { to } : {}) },
          }),
        );
      const all = await q('2025-06-01T12:00:00Z');
      expect(all.records).toHaveLength(451);
      expect(new Set(all.records.map((r) => r.id)).size).toBe(451);
      expect((await q('2025-06-01T12:00:00Z', '2025-06-01T12:00:01Z')).records).toHaveLength(450);
      expect((await q('2025-06-01T12:00:01Z')).records).toHaveLength(1);
    });

    it('reads by ids across several chunks and with includeDeleted', async () => {
      const driver = track(driverFor(sandbox));
      const ids = sandbox.admin.listIds('Contact', 700);
      const { records } = await collect(driver.query({ object: 'Contact', fields: ['LastName'], ids }));
      expect(new Set(records.map((r) => r.id))).toEqual(new Set(ids));
      const victim = ids[5] as string;
      sandbox.admin.deleteRecord('Contact', victim);
      const live = await collect(
        driver.query({ object: 'Contact', fields: ['IsDeleted'], ids: [victim, ids[6] as string] }),
      );
      expect(live.records.map((r) => r.id)).toEqual([ids[6]]);
      const withDeleted = await collect(
        driver.query({ object: 'Contact', fields: ['IsDeleted'], ids: [victim], includeDeleted: true }),
      );
      expect(withDeleted.records).toEqual([
        expect.objectContaining({ id: victim, values: expect.objectContaining({ IsDeleted: true }) }),
      ]);
    });

    it('sends the opening requests of a read whose names were described while the describe is on its way', async () => {
      const plain = track(driverFor(sandbox, { slices: { count: 4 } }));
      const expected = await collect(plain.query({ object: 'Contact', fields: ['Email', 'LastName'], pageSize: 200 }));
      const driver = track(driverFor(sandbox, { slices: { count: 4 } }));
      sandbox.admin.resetRequestCount();
      const early = await collect(
        driver.query({ object: 'Contact', fields: ['Email', 'LastName'], pageSize: 200, namesDescribed: true }),
      );
      const kinds = sandbox.admin.requestKinds();
      // Without a guess no query can be sent before the describe has answered; here they go out with it (over
      // separate connections, so the arrival order among them is the network's: the first one rides the token's).
      expect(kinds.slice(0, 5).sort()).toEqual(['describe', 'query', 'query', 'query', 'token']);
      expect(kinds.indexOf('query')).toBeLessThan(kinds.indexOf('describe'));
      expect(new Set(early.records.map((r) => r.id)).size).toBe(expected.records.length);
      expect(sortById(early.records)).toEqual(sortById(expected.records));
      // The guessed requests are the reader's own: the same calls as a read that waited for the describe.
      expect(driver.apiCalls).toBe(plain.apiCalls);
    });

    it('never uses a wrong guess: the read is right, the guessed calls are lost, and a misspelt name is refused', async () => {
      const driver = track(driverFor(sandbox, { slices: { count: 4 } }));
      const plain = track(driverFor(sandbox, { slices: { count: 4 } }));
      // Salesforce spells it Email: the guessed chunks ask for "email" and are dropped; the guessed count is taken.
      const read = await collect(
        driver.query({ object: 'Contact', fields: ['email'], pageSize: 200, namesDescribed: true }),
      );
      const expected = await collect(plain.query({ object: 'Contact', fields: ['email'], pageSize: 200 }));
      expect(sortById(read.records)).toEqual(sortById(expected.records));
      expect(read.records[0]?.values).toHaveProperty('Email');
      expect(driver.apiCalls).toBe(plain.apiCalls + 2);
      const misspelt = track(driverFor(sandbox));
      const error = await failure(
        collect(misspelt.query({ object: 'Contact', fields: ['Emial'], namesDescribed: true })),
      );
      expect(error.code).toBe('field_not_found');
      expect(error.message).toContain('Emial');
    });

    it('refuses unknown fields and relationships before calling the query API', async () => {
      const driver = track(driverFor(sandbox));
      sandbox.admin.resetRequestCount();
      const error = await failure(collect(driver.query({ object: 'Contact', fields: ['Nope__c'] })));
      expect(error.code).toBe('field_not_found');
      expect((await failure(collect(driver.query({ object: 'Contact', fields: ['Nobody.Name'] })))).code).toBe(
        'field_not_found',
      );
      const filter = {
        kind: 'compare' as const,
        field: "LastName' OR Id != null OR LastName = '",
        op: '=' as const,
        value: 'x',
      };
      expect((await failure(collect(driver.query({ object: 'Contact', fields: [], filter })))).code).toBe(
        'field_not_found',
      );
      expect(sandbox.admin.requestCounts().query).toBeUndefined();
    });
  });

  describe('deletions', () => {
    it('reads deletions over a window longer than 30 days in several calls, reporting earliestDateAvailable', async () => {
      const driver = track(driverFor(sandbox));
      const [a, b] = sandbox.admin.listIds('Contact', 2) as [string, string];
      sandbox.admin.deleteRecord('Contact', a, { at: new Date(Date.now() - 3 * 86_400_000) });
      sandbox.admin.deleteRecord('Contact', b, { at: new Date(Date.now() - 10 * 60_000) });
      const since = new Date(Date.now() - 45 * 86_400_000).toISOString();
      sandbox.admin.resetRequestCount();
      const result = await driver.readDeleted({ object: 'Contact', since });
      const ids: string[] = [];
      for await (const page of result.records) ids.push(...page.map((r) => r.id));
      expect(ids).toEqual(expect.arrayContaining([a, b]));
      expect(sandbox.admin.requestCounts().sobject).toBe(2); // 45 days = a 30-day and a 15-day call
      // The sandbox keeps 15 days: the 45-day window starts before what it still covers.
      expect(Date.parse(result.earliestDateAvailable as string)).toBeGreaterThan(Date.parse(since));
      expect(result.nextCursor()).toMatch(/Z$/);
    });
  });

  describe('writes', () => {
    it('upserts by external id and reports a reject with code, message and fields', async () => {
      const driver = track(driverFor(sandbox));
      const items: WriteItem[] = [
        { ref: 'n1', values: { Customer_Number__c: 'UP-1', LastName: 'Up', Interests__c: ['Running', 'Cycling'] } },
        { ref: 'bad', values: { Customer_Number__c: 'UP-2' } },
      ];
      const outcomes = await driver.writeBatch(
        { object: 'Contact', operation: 'upsert', externalIdField: 'customer_number__c' },
        items,
      );
      expect(outcomes[0]).toMatchObject({ ref: 'n1', ok: true, created: true });
      expect(outcomes[1]).toMatchObject({
        ref: 'bad',
        ok: false,
        code: 'REQUIRED_FIELD_MISSING',
        fields: ['LastName'],
      });
      const id = outcomes[0]?.ok ? outcomes[0].id : '';
      expect(sandbox.admin.getRecord('Contact', id)?.Interests__c).toBe('Running;Cycling');
      const again = await driver.writeBatch(
        { object: 'Contact', operation: 'upsert', externalIdField: 'Customer_Number__c' },
        [{ ref: 'n1b', values: { Customer_Number__c: 'UP-1', Title: 'Boss' } }],
      );
      expect(again[0]).toMatchObject({ ref: 'n1b', ok: true, created: false, id });
      const missing = await driver.writeBatch({ object: 'Contact', operation: 'update' }, [
        { ref: 'noid', values: { Title: 'x' } },
      ]);
      expect(missing[0]).toMatchObject({ ref: 'noid', ok: false, code: 'MISSING_ID' });
      await expect(
        driver.writeBatch(
          { object: 'Contact', operation: 'insert' },
          Array.from({ length: 201 }, (_, i) => ({ ref: String(i), values: { LastName: 'x' } })),
        ),
      ).rejects.toSatisfy((e: unknown) => isLiaisonError(e, 'invalid_input'));
    });

    it('correlates a large job through refs kept on disk, identical rows included', async () => {
      const driver = track(driverFor(sandbox, { bulk: { pollInitialMs: 20, pollMaxMs: 200, spillRefsAt: 10 } }));
      // 60 rows, 20 of them three identical triples: each triple's outcomes come back under its three refs.
      const items: WriteItem[] = Array.from({ length: 60 }, (_, i) => ({
        ref: `s${i}`,
        values: i < 20 ? { LastName: `Spill${i}` } : { LastName: `Twin${Math.floor(i / 3)}`, Title: 'Same' },
      }));
      items.push({ ref: 'spill-bad', values: { Email: 'spill-bad@bulk.example' } });
      const outcomes: WriteOutcome[] = [];
      for await (const o of driver.bulkWrite?.({ object: 'Contact', operation: 'insert' }, iterate(items)) ?? [])
        outcomes.push(o);
      expect(outcomes.map((o) => o.ref).sort()).toEqual(items.map((i) => i.ref).sort());
      expect(outcomes.filter((o) => !o.ok)).toEqual([
        expect.objectContaining({ ref: 'spill-bad', code: 'REQUIRED_FIELD_MISSING' }),
      ]);
      const created = outcomes.filter((o): o is Extract<WriteOutcome, { ok: true }> => o.ok);
      expect(new Set(created.map((o) => o.id)).size).toBe(60);
      for (const o of created)
        expect(sandbox.admin.getRecord('Contact', o.id)?.LastName).toBe(
          items.find((i) => i.ref === o.ref)?.values.LastName,
        );
    });

    it('bulk-writes through several jobs and correlates outcomes, rejects included', async () => {
      const driver = track(driverFor(sandbox, { bulk: { pollInitialMs: 20, pollMaxMs: 200, maxJobBytes: 4_000 } }));
      const items: WriteItem[] = Array.from({ length: 300 }, (_, i) => ({
        ref: `r${i}`,
        values:
          i % 50 === 7
            ? { Email: `bad${i}@bulk.example` }
            : { LastName: `Bulk${i}`, Email: `b${i}@bulk.example`, Title: i % 3 === 0 ? null : 'Ms' },
      }));
      const outcomes: WriteOutcome[] = [];
      sandbox.admin.resetRequestCount();
      for await (const o of driver.bulkWrite?.({ object: 'Contact', operation: 'insert' }, iterate(items)) ?? [])
        outcomes.push(o);
      expect(outcomes).toHaveLength(300);
      expect(new Set(outcomes.map((o) => o.ref)).size).toBe(300);
      const rejects = outcomes.filter((o) => !o.ok);
      expect(rejects.map((o) => o.ref).sort()).toEqual(
        items
          .filter((_, i) => i % 50 === 7)
          .map((i) => i.ref)
          .sort(),
      );
      for (const r of rejects) expect(r).toMatchObject({ code: 'REQUIRED_FIELD_MISSING' });
      for (const o of outcomes) {
        if (!o.ok) continue;
        expect(o.created).toBe(true);
        expect(sandbox.admin.getRecord('Contact', o.id)?.LastName).toBe(`Bulk${o.ref.slice(1)}`);
      }
      // 4 kB per job forces several jobs.
      expect(sandbox.admin.requestCounts().bulk ?? 0).toBeGreaterThan(6);

      const updates: WriteItem[] = outcomes
        .filter((o): o is Extract<WriteOutcome, { ok: true }> => o.ok)
        .slice(0, 20)
        .map((o, i) => ({ ref: `u${i}`, id: o.id, values: { Title: `T${i}` } }));
      updates.push({ ref: 'ubad', id: '003Lz000000ZZZZAAA', values: { Title: 'x' } });
      const updated: WriteOutcome[] = [];
      for await (const o of driver.bulkWrite?.({ object: 'Contact', operation: 'update' }, iterate(updates)) ?? [])
        updated.push(o);
      expect(updated.filter((o) => o.ok)).toHaveLength(20);
      expect(updated.find((o) => o.ref === 'ubad')?.ok).toBe(false);
    });
  });

  describe('bulk upsert and delete', () => {
    it('upserts by external id and deletes through Bulk API 2.0', async () => {
      const driver = track(driverFor(sandbox));
      const req = { object: 'Contact', operation: 'upsert' as const, externalIdField: 'Customer_Number__c' };
      const run = async (
        operation: typeof req | { object: string; operation: 'delete' },
        items: WriteItem[],
      ): Promise<Map<string, WriteOutcome>> => {
        const out = new Map<string, WriteOutcome>();
        for await (const o of driver.bulkWrite?.(operation, iterate(items)) ?? []) out.set(o.ref, o);
        return out;
      };
      const first = await run(
        req,
        Array.from({ length: 30 }, (_, i) => ({
          ref: `e${i}`,
          values: { Customer_Number__c: `BK-${i}`, LastName: `Ext${i}` },
        })),
      );
      expect([...first.values()].every((o) => o.ok && o.created)).toBe(true);
      const second = await run(req, [
        { ref: 'again', values: { Customer_Number__c: 'BK-3', Title: 'Again' } },
        { ref: 'fresh', values: { Customer_Number__c: 'BK-NEW', LastName: 'New' } },
      ]);
      const again = second.get('again');
      expect(again).toMatchObject({
        ok: true,
        created: false,
        id: first.get('e3')?.ok ? (first.get('e3') as { id: string }).id : 'x',
      });
      expect(second.get('fresh')).toMatchObject({ ok: true, created: true });
      const ids = [...first.values()]
        .filter((o): o is Extract<WriteOutcome, { ok: true }> => o.ok)
        .slice(0, 10)
        .map((o, i) => ({ ref: `d${i}`, id: o.id, values: {} }));
      const removed = await run({ object: 'Contact', operation: 'delete' }, [...ids, { ref: 'noid', values: {} }]);
      expect([...removed.values()].filter((o) => o.ok)).toHaveLength(10);
      expect(removed.get('noid')).toMatchObject({ ok: false, code: 'MISSING_ID' });
      const live = await collect(driver.query({ object: 'Contact', fields: [], ids: ids.map((i) => i.id) }));
      expect(live.records).toHaveLength(0);
      const binned = await collect(
        driver.query({ object: 'Contact', fields: ['IsDeleted'], ids: ids.map((i) => i.id), includeDeleted: true }),
      );
      expect(binned.records.map((r) => r.values.IsDeleted)).toEqual(ids.map(() => true));
    });
  });

  describe('resilience', () => {
    it('recovers from a token expiring mid-stream', async () => {
      const driver = track(driverFor(sandbox, { slices: { count: 1 } }));
      let n = 0;
      let expired = false;
      for await (const page of driver.query({ object: 'Contact', fields: ['LastName'], pageSize: 500 })) {
        n += page.records.length;
        if (!expired) {
          sandbox.admin.expireTokens();
          expired = true;
        }
      }
      expect(n).toBe(sandbox.admin.countRecords('Contact'));
    });

    it('shares one token renewal between parallel slices when the token expires mid-read', async () => {
      const driver = track(driverFor(sandbox, { slices: { count: 4 } }));
      await driver.describeObject('Contact');
      sandbox.admin.resetRequestCount();
      let n = 0;
      let expired = false;
      const ids = new Set<string>();
      for await (const page of driver.query({ object: 'Contact', fields: ['LastName'], pageSize: 200 })) {
        n += page.records.length;
        for (const r of page.records) ids.add(r.id);
        if (!expired && n > 600) {
          sandbox.admin.expireTokens();
          expired = true;
        }
      }
      expect(n).toBe(sandbox.admin.countRecords('Contact'));
      expect(ids.size).toBe(n);
      expect(sandbox.admin.requestCounts().token).toBe(1);
    });

    it('recovers from injected 503s, transient limit errors and connection resets', async () => {
      const driver = track(driverFor(sandbox, { retry: { retries: 8, baseDelayMs: 5, maxDelayMs: 50 } }));
      await driver.describeObject('Contact');
      sandbox.admin.setFaults({ unavailableRate: 0.15, resetRate: 0.1, rateLimitRate: 0.05 });
      try {
        const { records } = await collect(driver.query({ object: 'Contact', fields: ['LastName'], pageSize: 200 }));
        expect(records).toHaveLength(sandbox.admin.countRecords('Contact'));
        expect(new Set(records.map((r) => r.id)).size).toBe(records.length);
      } finally {
        sandbox.admin.setFaults({});
      }
    });

    it('resumes after the last record when a cut last page leaves the locator released', async () => {
      const driver = track(driverFor(sandbox, { slices: { count: 1 } }));
      await driver.describeObject('Contact');
      const total = sandbox.admin.countRecords('Contact');
      const pages = Math.ceil(total / 500);
      sandbox.admin.resetRequestCount();
      sandbox.admin.setFaults({ resetOnRequest: pages }); // the last page's answer is cut mid-body
      try {
        const { records } = await collect(driver.query({ object: 'Contact', fields: ['LastName'], pageSize: 500 }));
        expect(records).toHaveLength(total);
        expect(new Set(records.map((r) => r.id)).size).toBe(total);
        // pages, + the retry that finds the locator gone, + the resumed query
        expect(sandbox.admin.requestCounts().query).toBe(pages + 2);
      } finally {
        sandbox.admin.setFaults({});
      }
    });

    it('recovers from a reset on the next request', async () => {
      const driver = track(driverFor(sandbox));
      await driver.describeObject('Contact');
      sandbox.admin.setFaults({ resetOnRequest: 1 });
      const { records } = await collect(driver.query({ object: 'Contact', fields: ['LastName'], limit: 10 }));
      expect(records).toHaveLength(10);
    });

    it('stops cleanly with api_limit_exceeded when the daily allowance is spent', async () => {
      const driver = track(driverFor(sandbox));
      await driver.describeObject('Contact');
      const usage = sandbox.admin.apiUsage();
      sandbox.admin.setDailyApiLimit(usage.used);
      try {
        const error = await failure(collect(driver.query({ object: 'Contact', fields: ['LastName'] })));
        expect(error.code).toBe('api_limit_exceeded');
        // Spent in the middle of a sliced read: the read fails with the same code, the other slices stop.
        sandbox.admin.setDailyApiLimit(sandbox.admin.apiUsage().used + 8);
        const midway = await failure(collect(driver.query({ object: 'Contact', fields: ['LastName'], pageSize: 200 })));
        expect(midway.code).toBe('api_limit_exceeded');
      } finally {
        sandbox.admin.setDailyApiLimit(usage.max);
      }
    });
  });
});
