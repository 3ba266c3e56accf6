import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store-open.js';
import type { ActivityHandler, ActivityRegistry } from '../../src/workflow/activity.js';
import { builtinActivities } from '../../src/workflow/activity-registry.js';
import { runWorkflow } from '../../src/workflow/workflow-engine.js';
import { storeTargets } from '../support/store-targets.js';
import { count, load } from './support/workflow-fixtures.js';

const ROWS = 50_000;

/**
 * Streams 50,000 records through staged working sets. What this checks is counts and page sizes: no activity ever
 * sees more than one page in memory (the handler below asserts every page it receives is at most its page size).
 */
for (const target of storeTargets()) {
  describe(`working sets at volume on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    it(`moves ${ROWS} records through query → stream → deduplication → update-data`, async () => {
      const store = await openStore(target.freshUrl());
      try {
        await store.db.schema
          .createTable('big_source')
          .addColumn('n', 'integer')
          .addColumn('email', 'text')
          .addColumn('flag', 'boolean')
          .execute();
        await store.db.schema
          .createTable('big_target')
          .addColumn('email', 'text')
          .addColumn('n', 'integer')
          .addColumn('flag', 'boolean')
          .execute();
        // Every 10th record repeats the previous email: 5,000 duplicates to drop.
        await sql`insert into big_source (n, email, flag)
          with recursive seq(n) as (select 1 union all select n + 1 from seq where n < ${ROWS})
          select n, 'user' || (case when n % 10 = 0 then n - 1 else n end) || '@example.com', ${store.dialect === 'sqlite' ? sql`n % 2` : sql`n % 2 = 1`} from seq`.execute(
          store.db,
        );

        const pageSizes: number[] = [];
        let streamed = 0;
        const stream: ActivityHandler = {
          async run(_config, ctx) {
            const input = ctx.inputs[0]!;
            const out = await ctx.createOutput('ok', input.columns);
            for await (const page of input.pages(2_000)) {
              pageSizes.push(page.length);
              streamed += page.length;
              await out.write(page);
              ctx.progress(streamed, input.count);
            }
            return { outputs: { ok: await out.finish() } };
          },
        };
        const registry: ActivityRegistry = { ...builtinActivities, union: stream as ActivityHandler<never> };
        const text = `
name: volume
activities:
  - name: all
    type: query
    table: big_source
    orderBy: [n]
    transitions: { ok: stream }
  - name: stream
    type: union
    transitions: { ok: dedupe }
  - name: dedupe
    type: deduplication
    keys: [email]
    transitions: { ok: save, duplicates: dropped }
  - name: save
    type: update-data
    table: big_target
    operation: insert-or-update
    keys: [email]
  - name: dropped
    type: end
`;
        const run = await runWorkflow(store, await load(store, text), { registry });
        expect(run.status).toBe('succeeded');
        expect(streamed).toBe(ROWS);
        expect(Math.max(...pageSizes)).toBeLessThanOrEqual(2_000);
        expect(pageSizes.length).toBe(ROWS / 2_000);
        const byName = Object.fromEntries(run.activities.map((a) => [a.activity, a]));
        expect(byName.dedupe).toMatchObject({ recordsIn: ROWS, recordsOut: ROWS - ROWS / 10 });
        expect(byName.dropped).toMatchObject({ recordsIn: ROWS / 10 });
        expect(await count(store, 'big_target')).toBe(ROWS - ROWS / 10);
        const flags = await sql<{
          n: number | string;
        }>`select count(*) as n from big_target where flag = ${store.dialect === 'sqlite' ? 1 : true}`.execute(
          store.db,
        );
        // The dropped duplicates are the multiples of 10 (even n, flag false): all 25,000 odd records remain.
        expect(Number(flags.rows[0]!.n)).toBe(ROWS / 2);
      } finally {
        await store.close();
      }
    });
  });
}
