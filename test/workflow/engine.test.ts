import { sql } from 'kysely';
import { afterAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { tableNames } from '../../src/store/store-open.js';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import type { ActivityHandler, ActivityRegistry } from '../../src/workflow/activity.js';
import { builtinActivities } from '../../src/workflow/activity-registry.js';
import { listRuns, showRun } from '../../src/workflow/run-history.js';
import { runWorkflow, type RunEvent } from '../../src/workflow/workflow-engine.js';
import { workflowDb } from '../../src/workflow/workflow-tables.js';
import { storeTargets } from '../support/store-targets.js';
import { count, createContactTables, load } from './support/workflow-fixtures.js';

const CONTACTS_TO_RECIPIENTS = `
name: contacts-to-recipients
activities:
  - name: fr
    type: query
    table: contact_import
    filter: "country = 'FR'"
    transitions: { ok: merge }
  - name: be
    type: query
    table: contact_import
    filter: "country in ('BE')"
    fields: [crm_id, email, first_name, country, account_ref, imported_at]
    transitions: { ok: merge }
  - name: merge
    type: union
    transitions: { ok: dedupe }
  - name: dedupe
    type: deduplication
    keys: [crm_id]
    keep: last
    orderBy: imported_at
    transitions: { ok: link, duplicates: dropped }
  - name: link
    type: enrichment
    table: account
    on: { account_ref: crm_account_id }
    fields: { account_name: name }
    transitions: { ok: save }
  - name: save
    type: update-data
    table: recipient
    operation: insert-or-update
    keys: [salesforce_id]
    origin: crm
    mapping: { salesforce_id: crm_id, email: email, first_name: first_name, country: country, city: account_name }
    transitions: { ok: done, rejects: done-rejects }
  - name: done
    type: end
  - name: done-rejects
    type: end
  - name: dropped
    type: end
`;

for (const target of storeTargets()) {
  describe(`workflow engine on ${target.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await openStore(target.freshUrl());
      await createContactTables(store);
    });
    afterEach(() => store.close());
    afterAll(() => target.cleanup());

    const recipients = () =>
      workflowDb(store)
        .selectFrom('recipient')
        .select(['salesforce_id', 'email', 'city', 'country', 'modified_locally_at'])
        .orderBy('salesforce_id')
        .execute();

    it('runs query → union → deduplication → enrichment → update-data → end, and records the run', async () => {
      const events: RunEvent[] = [];
      const run = await runWorkflow(store, await load(store, CONTACTS_TO_RECIPIENTS), {
        onEvent: (e) => events.push(e),
      });
      expect(run.status).toBe('succeeded');
      expect(await recipients()).toEqual([
        { salesforce_id: 'C1', email: 'ada@new.example', city: 'Acme', country: 'FR', modified_locally_at: null },
        { salesforce_id: 'C2', email: 'bob@example.com', city: 'Globex', country: 'BE', modified_locally_at: null },
        { salesforce_id: 'C3', email: 'cy@example.com', city: null, country: 'FR', modified_locally_at: null },
      ]);
      const byName = Object.fromEntries(run.activities.map((a) => [a.activity, a]));
      expect(run.activities.every((a) => a.status === 'succeeded')).toBe(true);
      expect(byName.fr).toMatchObject({ recordsIn: 3, recordsOut: 3 });
      expect(byName.be).toMatchObject({ recordsOut: 2 });
      expect(byName.merge).toMatchObject({ recordsIn: 5, recordsOut: 5 });
      expect(byName.dedupe).toMatchObject({ recordsIn: 5, recordsOut: 4 });
      expect(byName.dropped).toMatchObject({ recordsIn: 1 });
      expect(byName.save).toMatchObject({ recordsIn: 4, recordsOut: 3, rejects: 1 });
      expect(byName['done-rejects']).toMatchObject({ recordsIn: 1 });
      expect(events.filter((e) => e.type === 'activity-end')).toHaveLength(9);
      expect(events.at(-1)).toMatchObject({ type: 'run-end', status: 'succeeded' });
      // Working sets are dropped once the run succeeded.
      expect((await tableNames(store)).filter((t) => t.startsWith(`ws_${run.id}_`))).toEqual([]);
      expect((await listRuns(store))[0]).toMatchObject({
        id: run.id,
        workflow: 'contacts-to-recipients',
        status: 'succeeded',
      });
    });

    it('reruns without duplicating records and updates changed ones', async () => {
      const workflow = await load(store, CONTACTS_TO_RECIPIENTS);
      await runWorkflow(store, workflow);
      await sql`update contact_import set email = 'bob@changed.example' where crm_id = 'C2'`.execute(store.db);
      const second = await runWorkflow(store, workflow);
      expect(second.status).toBe('succeeded');
      const rows = await recipients();
      expect(rows).toHaveLength(3);
      expect(rows.find((r) => r.salesforce_id === 'C2')?.email).toBe('bob@changed.example');
    });

    it('stamps modified_locally_at for local updates only', async () => {
      await runWorkflow(store, await load(store, CONTACTS_TO_RECIPIENTS));
      const local = `
name: local-fix
activities:
  - name: pick
    type: query
    table: recipient
    filter: "salesforce_id = 'C3'"
    fields: [id, country]
    transitions: { ok: write }
  - name: write
    type: update-data
    table: recipient
    operation: update
    keys: [id]
`;
      const run = await runWorkflow(store, await load(store, local));
      expect(run.status).toBe('succeeded');
      const rows = await recipients();
      expect(rows.filter((r) => r.modified_locally_at !== null).map((r) => r.salesforce_id)).toEqual(['C3']);
    });

    it('deletes and marks deleted records reconciled on keys', async () => {
      await runWorkflow(store, await load(store, CONTACTS_TO_RECIPIENTS));
      await store.db.schema.alterTable('recipient').addColumn('deleted_at', 'varchar(40)').execute();
      const wf = (operation: string, extra = '') => `
name: remove
activities:
  - name: gone
    type: query
    table: contact_import
    filter: "crm_id = 'C1' or crm_id = 'C2'"
    transitions: { ok: apply }
  - name: apply
    type: update-data
    table: recipient
    operation: ${operation}
    keys: [salesforce_id]
    origin: crm
    mapping: { salesforce_id: crm_id }
${extra}`;
      const marked = await runWorkflow(
        store,
        await load(store, wf('mark-deleted', '    markDeleted: { column: deleted_at }')),
      );
      expect(marked.status).toBe('succeeded');
      const flagged = await sql<{
        salesforce_id: string;
      }>`select salesforce_id from recipient where deleted_at is not null order by salesforce_id`.execute(store.db);
      expect(flagged.rows.map((r) => r.salesforce_id)).toEqual(['C1', 'C2']);
      const deleted = await runWorkflow(store, await load(store, wf('delete')));
      expect(deleted.activities.find((a) => a.activity === 'apply')).toMatchObject({ recordsOut: 2 });
      expect((await recipients()).map((r) => r.salesforce_id)).toEqual(['C3']);
    });

    it('stops at a failing activity and resumes from it without re-running completed ones', async () => {
      const text = `
name: copy-contacts
activities:
  - name: all
    type: query
    table: contact_import
    transitions: { ok: once }
  - name: once
    type: update-data
    table: contact_log
    operation: insert
    mapping: { crm_id: crm_id, email: email }
    transitions: { ok: copy }
  - name: copy
    type: update-data
    table: contact_copy
    operation: insert-or-update
    keys: [crm_id]
    mapping: { crm_id: crm_id, email: email }
    transitions: { ok: finish }
  - name: finish
    type: end
`;
      await store.db.schema.createTable('contact_log').addColumn('crm_id', 'text').addColumn('email', 'text').execute();
      const workflow = await load(store, text);
      expect(workflow.warnings.map((w) => w.message)).toEqual([
        expect.stringContaining('table "contact_copy" does not exist yet'),
      ]);
      const failed = await runWorkflow(store, workflow);
      expect(failed.status).toBe('failed');
      expect(failed.error).toMatch(/activity "copy" failed: table "contact_copy" does not exist/);
      expect(failed.activities.map((a) => [a.activity, a.status])).toEqual([
        ['all', 'succeeded'],
        ['once', 'succeeded'],
        ['copy', 'failed'],
        ['finish', 'pending'],
      ]);
      expect(await count(store, 'contact_log')).toBe(6);

      await store.db.schema
        .createTable('contact_copy')
        .addColumn('crm_id', 'text')
        .addColumn('email', 'text')
        .execute();
      const resumed = await runWorkflow(store, workflow, { resume: failed.id });
      expect(resumed).toMatchObject({ id: failed.id, status: 'succeeded', attempts: 2, error: null });
      // The non-idempotent insert ran once; the resumed activity wrote the 5 keyed rows once.
      expect(await count(store, 'contact_log')).toBe(6);
      expect(await count(store, 'contact_copy')).toBe(5);
      expect(resumed.activities.find((a) => a.activity === 'once')?.startedAt).toBe(
        failed.activities.find((a) => a.activity === 'once')?.startedAt,
      );
      await expect(runWorkflow(store, workflow, { resume: failed.id })).rejects.toThrow(
        /only a failed run can be resumed/,
      );
    });

    it('resumes after a custom activity that fails once, reusing earlier working sets', async () => {
      let calls = 0;
      const flaky: ActivityHandler = {
        async run(_config, ctx) {
          calls++;
          if (calls === 1) throw new Error('transient outage');
          const input = ctx.inputs[0]!;
          const out = await ctx.createOutput('ok', input.columns);
          for await (const page of input.pages(2)) await out.write(page);
          ctx.vars.set('copied', input.count);
          return { outputs: { ok: await out.finish() } };
        },
      };
      // The flaky handler stands in for an activity type under test (here: union with one input).
      const registry: ActivityRegistry = { ...builtinActivities, union: flaky as ActivityHandler<never> };
      const text = `
name: flaky
activities:
  - name: all
    type: query
    table: contact_import
    filter: "crm_id is not null and imported_at != '2024-01-01'"
    transitions: { ok: shaky }
  - name: shaky
    type: union
    transitions: { ok: save }
  - name: save
    type: update-data
    table: recipient
    operation: insert-or-update
    keys: [salesforce_id]
    mapping: { salesforce_id: crm_id, email: email }
`;
      const workflow = await load(store, text);
      const failed = await runWorkflow(store, workflow, { registry });
      expect(failed.status).toBe('failed');
      expect(failed.activities.find((a) => a.activity === 'shaky')?.error).toBe('transient outage');
      expect(await count(store, 'recipient')).toBe(0);
      const resumed = await runWorkflow(store, workflow, { registry, resume: failed.id });
      expect(resumed.status).toBe('succeeded');
      expect(await count(store, 'recipient')).toBe(4);
      expect(resumed.activities.find((a) => a.activity === 'shaky')).toMatchObject({
        recordsIn: 4,
        recordsOut: 4,
        vars: { copied: 4 },
      });
      const run = await showRun(store, failed.id);
      expect(run.activities.find((a) => a.activity === 'all')?.recordsOut).toBe(4);
    });

    it('orders and limits a query; an inner enrichment sends non-matching records to "unmatched"', async () => {
      await store.db.schema
        .createTable('matched')
        .addColumn('crm_id', 'text')
        .addColumn('email', 'text')
        .addColumn('account_name', 'text')
        .execute();
      await store.db.schema.createTable('orphans').addColumn('crm_id', 'text').execute();
      const text = `
name: inner
activities:
  - name: latest
    type: query
    table: contact_import
    filter: "crm_id is not null"
    orderBy: [imported_at desc]
    limit: 4
    transitions: { ok: link }
  - name: link
    type: enrichment
    table: account
    on: { account_ref: crm_account_id }
    fields: { account_name: name }
    join: inner
    transitions: { ok: keep, unmatched: orphan }
  - name: keep
    type: update-data
    table: matched
    operation: insert
  - name: orphan
    type: update-data
    table: orphans
    operation: insert
`;
      const run = await runWorkflow(store, await load(store, text));
      expect(run.status).toBe('succeeded');
      // The 4 latest keyed records: C1 (2024-02-01), C4, C3, C2; C3's account A9 does not exist.
      const matched = await sql<{ crm_id: string; email: string; account_name: string }>`
        select crm_id, email, account_name from matched order by crm_id`.execute(store.db);
      expect(matched.rows).toEqual([
        { crm_id: 'C1', email: 'ada@new.example', account_name: 'Acme' },
        { crm_id: 'C2', email: 'bob@example.com', account_name: 'Globex' },
        { crm_id: 'C4', email: 'dee@example.com', account_name: 'Acme' },
      ]);
      const orphans = await sql<{ crm_id: string }>`select crm_id from orphans`.execute(store.db);
      expect(orphans.rows).toEqual([{ crm_id: 'C3' }]);
    });

    it('publishes run variables to later filters', async () => {
      const publisher: ActivityHandler = {
        async run(_config, ctx) {
          ctx.vars.set('since', '2024-01-06');
          return { outputs: {} };
        },
      };
      const registry: ActivityRegistry = { ...builtinActivities, end: publisher as ActivityHandler<never> };
      const text = `
name: vars
activities:
  - name: seed
    type: query
    table: account
    transitions: { ok: publish }
  - name: publish
    type: end
  - name: recent
    type: query
    table: contact_import
    filter: "imported_at >= \${vars.since}"
    transitions: { ok: save }
  - name: save
    type: update-data
    table: recipient
    operation: insert
    mapping: { email: email }
`;
      const run = await runWorkflow(store, await load(store, text), { registry });
      expect(run.status).toBe('succeeded');
      expect(run.activities.find((a) => a.activity === 'recent')?.recordsOut).toBe(4);
    });
  });
}
