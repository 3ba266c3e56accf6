import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLiaisonError } from '../../src/core/errors.js';
import type { CrmDriver, CrmRecord, RecordPage, WriteItem, WriteOutcome } from '../../src/crm/driver.js';
import type { SandboxAdmin } from '../../src/sandbox/common/sandbox-types.js';

/**
 * One conformance suite for every CRM driver, run against that CRM's sandbox. It speaks only the CrmDriver
 * interface and the neutral model; everything CRM-specific (object and field names, a record the CRM refuses)
 * comes from the setup, and optional features are gated by the driver's capability flags.
 */
export interface ConformanceSetup {
  driver: CrmDriver;
  admin: SandboxAdmin;
  objects: { contact: string };
  fields: {
    /** A text field the suite writes unique markers into (Salesforce `LastName`, Dataverse `lastname`). */
    lastName: string;
    /** A second text field (e-mail). */
    email: string;
    /** An external-id / alternate-key text field, when upsert is tested. */
    externalId?: string;
  };
  /** Values the CRM refuses on insert (e.g. a required field missing), to check rejects. */
  rejectOnInsert: Record<string, unknown>;
  stop(): Promise<void>;
}

async function collect(pages: AsyncIterable<RecordPage>): Promise<CrmRecord[]> {
  const out: CrmRecord[] = [];
  for await (const page of pages) out.push(...page.records);
  return out;
}

async function* iterate<T>(items: T[]): AsyncGenerator<T> {
  yield* items;
}

export function describeDriverConformance(name: string, setup: () => Promise<ConformanceSetup>): void {
  describe(`CrmDriver conformance: ${name}`, () => {
    let s: ConformanceSetup;
    let driver: CrmDriver;
    const marker = `Conf${randomUUID().slice(0, 8)}`;
    const created: string[] = [];

    beforeAll(async () => {
      s = await setup();
      driver = s.driver;
      const base = Date.parse('2024-03-01T10:00:00Z');
      for (let i = 0; i < 12; i++) {
        const at = new Date(base + (i < 5 ? 0 : 3_600_000));
        created.push(
          s.admin.createRecord(
            s.objects.contact,
            {
              [s.fields.lastName]: marker,
              [s.fields.email]: `c${String(i).padStart(2, '0')}@${marker.toLowerCase()}.example`,
            },
            { at },
          ),
        );
      }
    });

    afterAll(async () => {
      await driver?.close();
      await s?.stop();
    });

    const byMarker = { kind: 'compare' as const, field: '', op: '=' as const, value: '' };
    const markerFilter = () => ({ ...byMarker, field: s.fields.lastName, value: marker });

    it('tests the connection and reports versions and API calls', async () => {
      const before = driver.apiCalls;
      const result = await driver.testConnection();
      expect(result.ok).toBe(true);
      expect(result.identity.length).toBeGreaterThan(0);
      expect(result.availableVersions).toContain(result.apiVersion);
      expect(result.instanceUrl.startsWith('https://')).toBe(true);
      expect(driver.apiCalls).toBeGreaterThan(before);
    });

    it('lists objects and describes the contact object in the neutral model', async () => {
      const objects = await driver.listObjects();
      expect(objects.some((o) => o.name.toLowerCase() === s.objects.contact.toLowerCase() && o.queryable)).toBe(true);
      const meta = await driver.describeObject(s.objects.contact);
      const fieldNames = meta.fields.map((f) => f.name);
      expect(fieldNames).toContain(meta.idField);
      expect(fieldNames).toContain(meta.modstampField);
      expect(meta.fields.find((f) => f.name === meta.modstampField)?.type).toBe('datetime');
      expect(meta.fields.find((f) => f.name === meta.modstampField)?.isModstamp).toBe(true);
      expect(meta.fields.find((f) => f.name === s.fields.lastName)?.type).toBe('string');
      for (const f of meta.fields) expect(typeof f.crmType).toBe('string');
    });

    it('reports an unknown object as object_not_found', async () => {
      await expect(driver.describeObject('NoSuchObject_xyz')).rejects.toSatisfy((e: unknown) =>
        isLiaisonError(e, 'object_not_found'),
      );
    });

    it('queries with a filter, without duplicates, with normalised ids and modstamps', async () => {
      const records = await collect(
        driver.query({
          object: s.objects.contact,
          fields: [s.fields.lastName, s.fields.email],
          filter: markerFilter(),
        }),
      );
      expect(records).toHaveLength(created.length);
      expect(new Set(records.map((r) => r.id)).size).toBe(created.length);
      expect(new Set(records.map((r) => r.id))).toEqual(new Set(created));
      const meta = await driver.describeObject(s.objects.contact);
      for (const r of records) {
        expect(r.values[s.fields.lastName]).toBe(marker);
        expect(String(r.values[meta.modstampField])).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/);
      }
    });

    it('stops asking the CRM when the reader stops: pages in flight are cancelled, not followed', async () => {
      const tag = `Cut${randomUUID().slice(0, 8)}`;
      const base = Date.parse('2024-04-01T00:00:00Z');
      // Spread over ten hours, so the read is split into concurrent windows of several pages (Salesforce's smallest
      // page is 200 records).
      for (let i = 0; i < 3000; i++)
        s.admin.createRecord(
          s.objects.contact,
          { [s.fields.lastName]: tag, [s.fields.email]: `cut${i}@${tag.toLowerCase()}.example` },
          { at: new Date(base + i * 12_000) },
        );
      // Slow answers keep the windows' next pages in flight when the consumer fails (as a failed write would).
      s.admin.setFaults({ latencyMs: 300 });
      try {
        let pages = 0;
        const read = (async () => {
          for await (const _ of driver.query({
            object: s.objects.contact,
            fields: [s.fields.lastName],
            filter: { kind: 'compare', field: s.fields.lastName, op: '=', value: tag },
            pageSize: 200,
          }))
            if (++pages === 2) throw new Error('the consumer failed');
        })();
        await expect(read).rejects.toThrow('the consumer failed');
        await new Promise((resolve) => setTimeout(resolve, 50)); // requests already on the wire arrive
        const settled = s.admin.requestCount();
        await new Promise((resolve) => setTimeout(resolve, 1000));
        expect(s.admin.requestCount()).toBe(settled);
      } finally {
        s.admin.setFaults({});
      }
    });

    it('keeps hostile values inside literals', async () => {
      for (const value of [`${marker}' OR 1=1 OR '`, `${marker}\\' OR ''='`, `${marker}" or ""="`]) {
        const records = await collect(
          driver.query({
            object: s.objects.contact,
            fields: [s.fields.lastName],
            filter: { kind: 'compare', field: s.fields.lastName, op: '=', value },
          }),
        );
        expect(records).toHaveLength(0);
      }
    });

    it('filters with LIKE, IN, NOT and null tests', async () => {
      const q = (filter: Parameters<CrmDriver['query']>[0]['filter']) =>
        collect(
          driver.query({
            object: s.objects.contact,
            fields: [s.fields.email],
            filter: { kind: 'and', args: [markerFilter(), filter as NonNullable<typeof filter>] },
          }),
        );
      expect(await q({ kind: 'like', field: s.fields.email, pattern: 'c0%' })).toHaveLength(10);
      expect(
        await q({
          kind: 'in',
          field: s.fields.email,
          values: [`c01@${marker.toLowerCase()}.example`, `c11@${marker.toLowerCase()}.example`],
        }),
      ).toHaveLength(2);
      expect(await q({ kind: 'not', arg: { kind: 'like', field: s.fields.email, pattern: 'c0%' } })).toHaveLength(2);
      expect(await q({ kind: 'null', field: s.fields.email, negate: true })).toHaveLength(12);
    });

    it('reads by ids, with order and limit', async () => {
      const wanted = [created[3], created[7], created[11]] as string[];
      const byIds = await collect(
        driver.query({ object: s.objects.contact, fields: [s.fields.lastName], ids: wanted }),
      );
      expect(new Set(byIds.map((r) => r.id))).toEqual(new Set(wanted));
      const ordered = await collect(
        driver.query({
          object: s.objects.contact,
          fields: [s.fields.email],
          filter: markerFilter(),
          orderBy: [{ field: s.fields.email, direction: 'desc' }],
          limit: 4,
        }),
      );
      expect(ordered.map((r) => r.values[s.fields.email])).toEqual(
        [11, 10, 9, 8].map((i) => `c${String(i).padStart(2, '0')}@${marker.toLowerCase()}.example`),
      );
    });

    it('reads incrementally by modstamp: >= from and < to', async () => {
      const q = (from?: string, to?: string) =>
        collect(
          driver.query({
            object: s.objects.contact,
            fields: [s.fields.lastName],
            filter: markerFilter(),
            modifiedSince: { ...(from ? { from } : {}), ...(to ? { to } : {}) },
          }),
        );
      expect(await q('2024-03-01T10:00:00Z', '2024-03-01T11:00:00Z')).toHaveLength(5);
      expect(await q('2024-03-01T11:00:00Z')).toHaveLength(7);
      expect(await q('2024-03-01T10:00:00.001Z', '2024-03-01T11:00:00Z')).toHaveLength(0);
    });

    it('writes a batch: inserts with a reject, updates and deletes, outcomes in input order', async () => {
      const items: WriteItem[] = [
        { ref: 'a', values: { [s.fields.lastName]: `${marker}W`, [s.fields.email]: 'a@w.example' } },
        { ref: 'bad', values: s.rejectOnInsert },
        { ref: 'b', values: { [s.fields.lastName]: `${marker}W`, [s.fields.email]: 'b@w.example' } },
      ];
      const inserted = await driver.writeBatch({ object: s.objects.contact, operation: 'insert' }, items);
      expect(inserted.map((o) => o.ref)).toEqual(['a', 'bad', 'b']);
      const [a, bad, b] = inserted as [WriteOutcome, WriteOutcome, WriteOutcome];
      expect(a.ok && b.ok).toBe(true);
      expect(bad.ok).toBe(false);
      if (!bad.ok) {
        expect(bad.code.length).toBeGreaterThan(0);
        expect(bad.message.length).toBeGreaterThan(0);
      }
      const idA = a.ok ? a.id : '';
      const idB = b.ok ? b.id : '';
      expect(a.ok && a.created).toBe(true);
      expect(String(s.admin.getRecord(s.objects.contact, idA)?.[s.fields.email])).toBe('a@w.example');

      const updated = await driver.writeBatch({ object: s.objects.contact, operation: 'update' }, [
        { ref: 'u', id: idA, values: { [s.fields.email]: 'a2@w.example' } },
      ]);
      expect(updated[0]).toMatchObject({ ref: 'u', ok: true, id: idA });
      expect(String(s.admin.getRecord(s.objects.contact, idA)?.[s.fields.email])).toBe('a2@w.example');

      const deleted = await driver.writeBatch({ object: s.objects.contact, operation: 'delete' }, [
        { ref: 'd', id: idB, values: {} },
      ]);
      expect(deleted[0]).toMatchObject({ ref: 'd', ok: true });
      const left = await collect(driver.query({ object: s.objects.contact, fields: [], ids: [idA, idB] }));
      expect(left.map((r) => r.id)).toEqual([idA]);
    });

    it('upserts by external id when the driver supports it', async () => {
      if (!driver.capabilities.upsertByExternalId || !s.fields.externalId) return; // reasoned skip: capability off
      const key = `${marker}-ext`;
      const req = { object: s.objects.contact, operation: 'upsert' as const, externalIdField: s.fields.externalId };
      const first = await driver.writeBatch(req, [
        { ref: 'x', values: { [s.fields.externalId]: key, [s.fields.lastName]: `${marker}U` } },
      ]);
      expect(first[0]).toMatchObject({ ref: 'x', ok: true, created: true });
      const second = await driver.writeBatch(req, [
        { ref: 'y', values: { [s.fields.externalId]: key, [s.fields.email]: 'u@w.example' } },
      ]);
      expect(second[0]).toMatchObject({ ref: 'y', ok: true, created: false, id: first[0]?.ok ? first[0].id : '' });
    });

    it('reports deletions since a point in time', async () => {
      if (driver.capabilities.changeTracking) return; // reasoned skip: such drivers report deletions through their cursor
      // Deleted a few minutes ago: replication windows are minute-grained and may lag the present.
      const since = new Date(Date.now() - 15 * 60_000).toISOString();
      const victim = created[0] as string;
      s.admin.deleteRecord(s.objects.contact, victim, { at: new Date(Date.now() - 5 * 60_000) });
      const result = await driver.readDeleted({ object: s.objects.contact, since });
      const ids: string[] = [];
      for await (const page of result.records) ids.push(...page.map((r) => r.id));
      expect(ids).toContain(victim);
    });

    it('bulk-writes with per-record outcomes when the driver supports it', async () => {
      if (!driver.capabilities.bulkWrite || !driver.bulkWrite) return; // reasoned skip: capability off
      const items: WriteItem[] = [
        ...Array.from({ length: 5 }, (_, i) => ({
          ref: `k${i}`,
          values: { [s.fields.lastName]: `${marker}B`, [s.fields.email]: `k${i}@b.example` },
        })),
        { ref: 'kbad', values: s.rejectOnInsert },
      ];
      const outcomes: WriteOutcome[] = [];
      for await (const o of driver.bulkWrite({ object: s.objects.contact, operation: 'insert' }, iterate(items)))
        outcomes.push(o);
      expect(outcomes.map((o) => o.ref).sort()).toEqual(items.map((i) => i.ref).sort());
      expect(outcomes.filter((o) => o.ok)).toHaveLength(5);
      const bad = outcomes.find((o) => o.ref === 'kbad');
      expect(bad?.ok).toBe(false);
      for (const o of outcomes)
        if (o.ok)
          expect(String(s.admin.getRecord(s.objects.contact, o.id)?.[s.fields.email])).toBe(`${o.ref}@b.example`);
    });
  });
}
