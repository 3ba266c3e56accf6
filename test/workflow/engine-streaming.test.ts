import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import type { ActivityHandler } from '../../src/workflow/activity.js';
import { builtinActivities } from '../../src/workflow/activity-registry.js';
import { runWorkflow } from '../../src/workflow/workflow-engine.js';
import { appendRows } from '../../src/store/row-writes.js';
import type { WorkingSet } from '../../src/workflow/working-set.js';
import { storeTargets } from '../support/store-targets.js';
import { load } from './support/workflow-fixtures.js';

/**
 * A producer whose output feeds one update-data (insert-or-update / update) and nothing else hands its pages
 * straight to it, each page in the producer's transaction, instead of staging everything first.
 */
const PAGES = 5;
const PAGE = 300;
const COLUMNS = [
  { name: 'crm_id', kind: 'text' as const },
  { name: 'email', kind: 'text' as const },
];

/** Stands in for the CRM import: PAGES pages of PAGE rows, through the sink when offered; fails after `failAfter`. */
function producer(seen: { sink: boolean[] }, failAfter?: number, duplicate = false): ActivityHandler {
  return {
    async run(_config, ctx) {
      const sink = await ctx.openSink('ok', COLUMNS);
      seen.sink.push(sink !== undefined);
      const out = sink ? undefined : await ctx.createOutputTable('ok', COLUMNS);
      for (let p = 0; p < PAGES; p++) {
        if (failAfter !== undefined && p === failAfter) throw new Error('the CRM went away');
        const rows = Array.from({ length: PAGE }, (_, i) => ({
          crm_id: `ID${String(p * PAGE + i).padStart(6, '0')}`,
          email: `p${p}r${i}@example.com`,
        }));
        // A record read twice (changed in the CRM while the read went on): the later copy is the newer one.
        if (duplicate && p === PAGES - 1) rows.push({ crm_id: 'ID000001', email: 'newer@example.com' });
        await ctx.store.db.transaction().execute(async (trx) => {
          if (sink) await sink.write(trx, rows);
          else await appendRows(ctx.store, trx, out!, rows);
        });
      }
      const outputs: Record<string, WorkingSet> = {};
      if (out) outputs.ok = await ctx.finishOutput('ok');
      return { outputs };
    },
  };
}

const workflow = (operation: string, after = 'done', table = 'people') => `
name: streamed
activities:
  - name: read
    type: query
    table: source_rows
    transitions: { ok: save }
  - name: save
    type: update-data
    table: ${table}
    operation: ${operation}
    keys: [crm_id]
    origin: crm
    transitions: { ok: ${after} }
${
  after === 'again'
    ? `  - name: again
    type: deduplication
    keys: [crm_id]
    transitions: { ok: done }
`
    : ''
}  - name: done
    type: end
`;

for (const target of storeTargets()) {
  describe(`streamed outputs on ${target.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await openStore(target.freshUrl());
      await store.db.schema.createTable('source_rows').addColumn('crm_id', 'varchar(18)').execute();
      await store.db.schema
        .createTable('people_loose')
        .addColumn('crm_id', 'varchar(18)')
        .addColumn('email', 'text')
        .execute();
      await store.db.schema
        .createTable('people')
        .addColumn('id', store.dialect === 'postgres' ? 'serial' : 'integer', (c) => c.primaryKey())
        .addColumn('crm_id', 'varchar(18)', (c) => c.unique())
        .addColumn('email', 'text')
        .addColumn('modified_at', 'varchar(40)')
        .addColumn('modified_locally_at', 'varchar(40)')
        .execute();
    });
    afterAll(async () => {
      await store?.close();
      await target.cleanup();
    });
    const people = async () =>
      (await sql<{ crm_id: string; email: string }>`select crm_id, email from people order by crm_id`.execute(store.db))
        .rows;

    it('streams into insert-or-update: every row written once, recorded on both activities, no staged output', async () => {
      await sql`delete from people`.execute(store.db);
      const seen = { sink: [] as boolean[] };
      const run = await runWorkflow(store, await load(store, workflow('insert-or-update')), {
        registry: { ...builtinActivities, query: producer(seen) as ActivityHandler<never> },
        keepWorkingSets: true,
      });
      expect(run.status).toBe('succeeded');
      expect(seen.sink).toEqual([true]);
      expect(await people()).toHaveLength(PAGES * PAGE);
      const read = run.activities.find((a) => a.activity === 'read')!;
      const save = run.activities.find((a) => a.activity === 'save')!;
      expect(read.outputs.ok).toBeUndefined();
      expect(save).toMatchObject({ status: 'succeeded', recordsIn: PAGES * PAGE, recordsOut: PAGES * PAGE });
    });

    it('keeps the last of two copies of a record in one batch', async () => {
      await sql`delete from people`.execute(store.db);
      const seen = { sink: [] as boolean[] };
      const run = await runWorkflow(store, await load(store, workflow('insert-or-update')), {
        registry: { ...builtinActivities, query: producer(seen, undefined, true) as ActivityHandler<never> },
      });
      expect(run.error ?? run.status).toBe('succeeded');
      expect(seen.sink).toEqual([true]);
      const rows = await people();
      expect(rows).toHaveLength(PAGES * PAGE);
      expect(rows.find((r) => r.crm_id === 'ID000001')?.email).toBe('newer@example.com');
    });

    it('leaves an import’s pending local change alone, as the staged path does', async () => {
      await sql`update people set email = 'local@example.com', modified_locally_at = '2030-01-01T00:00:00Z' where crm_id = 'ID000007'`.execute(
        store.db,
      );
      const seen = { sink: [] as boolean[] };
      const run = await runWorkflow(store, await load(store, workflow('insert-or-update')), {
        registry: { ...builtinActivities, query: producer(seen) as ActivityHandler<never> },
      });
      expect(run.status).toBe('succeeded');
      expect(seen.sink).toEqual([true]);
      expect((await people()).find((r) => r.crm_id === 'ID000007')?.email).toBe('local@example.com');
      expect(run.activities.find((a) => a.activity === 'save')?.recordsOut).toBe(PAGES * PAGE - 1);
    });

    it('stages as before when the output is needed later, the operation is not insert-or-update, or the keys are not a unique index', async () => {
      for (const [text, table] of [
        [workflow('insert-or-update', 'again'), 'people'],
        [workflow('insert'), 'people'],
        [workflow('update'), 'people'],
        [workflow('insert-or-update', 'done', 'people_loose'), 'people_loose'],
      ] as const) {
        if (!text.includes('operation: update')) await sql`delete from ${sql.table(table)}`.execute(store.db);
        const seen = { sink: [] as boolean[] };
        const run = await runWorkflow(store, await load(store, text), {
          registry: { ...builtinActivities, query: producer(seen) as ActivityHandler<never> },
        });
        expect(run.status).toBe('succeeded');
        expect(seen.sink).toEqual([false]);
        const count = await sql<{ n: number | string }>`select count(*) as n from ${sql.table(table)}`.execute(
          store.db,
        );
        expect(Number(count.rows[0]!.n)).toBe(PAGES * PAGE);
      }
    });

    it('applies full batches as the producer goes; after a failure the resume writes the rest with no duplicate', async () => {
      await sql`delete from people`.execute(store.db);
      const text = workflow('insert-or-update');
      // Batches of two pages: two pages are applied before the third fails, the third's rows were never staged.
      const failed = await runWorkflow(store, await load(store, text), {
        registry: { ...builtinActivities, query: producer({ sink: [] }, 3) as ActivityHandler<never> },
        streamBatchRows: 2 * PAGE,
      });
      expect(failed.status).toBe('failed');
      expect(await people()).toHaveLength(2 * PAGE);
      expect(failed.activities.find((a) => a.activity === 'save')?.status).toBe('pending');
      const resumed = await runWorkflow(store, await load(store, text), {
        registry: { ...builtinActivities, query: producer({ sink: [] }) as ActivityHandler<never> },
        resume: failed.id,
        streamBatchRows: 2 * PAGE,
      });
      expect(resumed.status).toBe('succeeded');
      const rows = await people();
      expect(rows).toHaveLength(PAGES * PAGE);
      expect(new Set(rows.map((r) => r.crm_id)).size).toBe(PAGES * PAGE);
    });
  });
}
