import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store-open.js';
import type { ActivityHandler } from '../../src/workflow/activity.js';
import { builtinActivities } from '../../src/workflow/activity-registry.js';
import { runWorkflow } from '../../src/workflow/workflow-engine.js';
import { tableColumns } from '../../src/workflow/workflow-tables.js';
import { openWorkingSet } from '../../src/workflow/working-set.js';
import { storeTargets } from '../support/store-targets.js';
import { load } from './support/workflow-fixtures.js';

/** Generated CRM tables use exact types (numeric(p,s), date, timestamptz): working sets must round-trip them. */
for (const target of storeTargets()) {
  describe(`typed columns through working sets on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    it('keeps numeric, date, timestamp and boolean values exact, and casts text working sets into typed tables', async () => {
      const store = await openStore(target.freshUrl());
      try {
        const ts = store.dialect === 'postgres' ? 'timestamp with time zone' : 'varchar(40)';
        for (const name of ['typed_source', 'typed_target']) {
          await store.db.schema
            .createTable(name)
            .addColumn('crm_id', 'varchar(18)', (c) => c.unique())
            .addColumn('amount', 'numeric(12, 2)')
            .addColumn('birthday', 'date')
            .addColumn('seen_at', sql.raw(ts))
            .addColumn('active', 'boolean')
            .execute();
        }
        const t = store.dialect === 'postgres' ? true : 1;
        await sql`insert into typed_source values ('A', 12345678.91, '1990-02-03', '2024-05-06T07:08:09.000Z', ${t})`.execute(
          store.db,
        );
        expect((await tableColumns(store, 'typed_source'))?.find((c) => c.name === 'amount')).toMatchObject({
          kind: 'number',
          sqlType: store.dialect === 'postgres' ? 'numeric(12,2)' : 'numeric(12, 2)',
        });

        // Stands in for the CRM connector: it stages ISO text, as drivers normalise values.
        const textStage: ActivityHandler = {
          async run(_config, ctx) {
            const out = await ctx.createOutput('ok', [
              { name: 'crm_id', kind: 'text' },
              { name: 'amount', kind: 'text' },
              { name: 'birthday', kind: 'text' },
              { name: 'seen_at', kind: 'text' },
              { name: 'active', kind: 'boolean' },
            ]);
            await out.write([
              { crm_id: 'B', amount: '0.10', birthday: '2001-12-31', seen_at: '2024-01-01T00:00:00Z', active: false },
            ]);
            return { outputs: { ok: await out.finish() } };
          },
        };
        const text = `
name: typed
activities:
  - name: read
    type: query
    table: typed_source
    transitions: { ok: both }
  - name: both
    type: union
    transitions: { ok: save }
  - name: save
    type: update-data
    table: typed_target
    operation: insert-or-update
    keys: [crm_id]
`;
        const first = await runWorkflow(store, await load(store, text));
        expect(first.status).toBe('succeeded');
        const copy = `
name: typed-text
activities:
  - name: seed
    type: query
    table: typed_source
    limit: 1
    transitions: { ok: stage }
  - name: stage
    type: union
    transitions: { ok: save }
  - name: save
    type: update-data
    table: typed_target
    operation: insert-or-update
    keys: [crm_id]
`;
        const second = await runWorkflow(store, await load(store, copy), {
          registry: { ...builtinActivities, union: textStage as ActivityHandler<never> },
        });
        expect(second.status).toBe('succeeded');
        const rows = await sql<
          Record<string, unknown>
        >`select crm_id, cast(amount as text) as amount, cast(birthday as text) as birthday,
          ${store.dialect === 'postgres' ? sql`to_char(seen_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS')` : sql`substr(seen_at, 1, 19)`} as seen_at,
          active from typed_target order by crm_id`.execute(store.db);
        expect(rows.rows).toEqual([
          { crm_id: 'A', amount: '12345678.91', birthday: '1990-02-03', seen_at: '2024-05-06T07:08:09', active: t },
          {
            crm_id: 'B',
            amount: store.dialect === 'postgres' ? '0.10' : '0.1',
            birthday: '2001-12-31',
            seen_at: '2024-01-01T00:00:00',
            active: store.dialect === 'postgres' ? false : 0,
          },
        ]);
        // Pages hand rows over in Liaison's conventions whatever the store's driver returns.
        const read = await runWorkflow(
          store,
          await load(
            store,
            'name: read\nactivities:\n  - { name: q, type: query, table: typed_target, orderBy: [crm_id], transitions: { ok: e } }\n  - { name: e, type: end }\n',
          ),
          { keepWorkingSets: true },
        );
        const staged = await openWorkingSet(store, read.activities[0]!.outputs.ok!.table);
        const pages: Record<string, unknown>[][] = [];
        for await (const page of staged.pages(1)) pages.push(page);
        expect(pages).toHaveLength(2);
        expect(pages[0]![0]).toMatchObject({ crm_id: 'A', birthday: '1990-02-03', active: true });
        expect(pages[1]![0]).toMatchObject({ crm_id: 'B', birthday: '2001-12-31', active: false });
        expect(Number(pages[0]![0]!.amount)).toBe(12345678.91);
        expect(Date.parse(String(pages[0]![0]!.seen_at))).toBe(Date.parse('2024-05-06T07:08:09.000Z'));
      } finally {
        await store.close();
      }
    });
  });
}
