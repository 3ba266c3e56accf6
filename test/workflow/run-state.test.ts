import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore, tableNames } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import { pruneWorkingSets } from '../../src/workflow/run-history.js';
import { loadWatermark, resetWatermark, saveWatermark } from '../../src/workflow/watermarks.js';
import { runWorkflow } from '../../src/workflow/workflow-engine.js';
import { workflowDb } from '../../src/workflow/workflow-tables.js';
import { storeTargets } from '../support/store-targets.js';
import { createContactTables, load } from './support/workflow-fixtures.js';

const FAILS_AT_SAVE = `
name: keep-sets
activities:
  - name: all
    type: query
    table: contact_import
    transitions: { ok: save }
  - name: save
    type: update-data
    table: not_yet
    operation: insert
`;

for (const target of storeTargets()) {
  describe(`run state on ${target.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await openStore(target.freshUrl());
    });
    afterEach(() => store.close());
    afterAll(() => target.cleanup());

    it('saves watermarks with the data they cover: a rolled-back transaction leaves none', async () => {
      const mark = {
        field: 'SystemModstamp',
        value: '2024-03-01T00:00:00.000Z',
        windowStart: '2024-02-01T00:00:00.000Z',
        windowEnd: '2024-03-01T00:00:00.000Z',
      };
      await expect(
        store.db.transaction().execute(async (trx) => {
          await saveWatermark(trx, 'wf', 'pull', mark);
          throw new Error('page write failed');
        }),
      ).rejects.toThrow('page write failed');
      expect(await loadWatermark(store.db, 'wf', 'pull')).toBeUndefined();

      await store.db.transaction().execute((trx) => saveWatermark(trx, 'wf', 'pull', mark));
      expect(await loadWatermark(store.db, 'wf', 'pull')).toMatchObject(mark);
      // The cursor never moves backwards.
      await saveWatermark(store.db, 'wf', 'pull', { ...mark, value: '2024-01-01T00:00:00.000Z' });
      expect((await loadWatermark(store.db, 'wf', 'pull'))?.value).toBe(mark.value);
      await saveWatermark(store.db, 'wf', 'pull', { ...mark, value: '2024-04-01T00:00:00.000Z' });
      expect((await loadWatermark(store.db, 'wf', 'pull'))?.value).toBe('2024-04-01T00:00:00.000Z');
      await resetWatermark(store.db, 'wf', 'pull');
      expect(await loadWatermark(store.db, 'wf', 'pull')).toBeUndefined();
    });

    it('keeps a failed run’s working sets until the retention period, then refuses to resume it', async () => {
      await createContactTables(store);
      const workflow = await load(store, FAILS_AT_SAVE);
      const failed = await runWorkflow(store, workflow);
      expect(failed.status).toBe('failed');
      const kept = (await tableNames(store)).filter((t) => t.startsWith(`ws_${failed.id}_`));
      expect(kept).toEqual([`ws_${failed.id}_all_ok`]);

      expect(await pruneWorkingSets(store, new Date(Date.now() - 86_400_000))).toEqual({ runs: 0, tables: 0 });
      expect(await pruneWorkingSets(store, new Date(Date.now() + 1000))).toEqual({ runs: 1, tables: 1 });
      expect((await tableNames(store)).filter((t) => t.startsWith(`ws_${failed.id}_`))).toEqual([]);
      await expect(runWorkflow(store, workflow, { resume: failed.id })).rejects.toThrow(
        /cannot be resumed: the working sets of activity "all" are gone/,
      );
    });

    it('allows one run per workflow at a time; a run left "running" by a dead process resumes with force', async () => {
      await createContactTables(store);
      const workflow = await load(store, FAILS_AT_SAVE);
      const first = await runWorkflow(store, workflow);
      // What a killed process leaves behind: the run and its activity still marked running.
      await workflowDb(store)
        .updateTable('workflow_run')
        .set({ status: 'running', ended_at: null })
        .where('id', '=', first.id)
        .execute();
      await workflowDb(store)
        .updateTable('workflow_run_activity')
        .set({ status: 'running' })
        .where('run_id', '=', first.id)
        .where('activity', '=', 'save')
        .execute();
      // Its heartbeat is recent (the run just ended): as far as anyone can tell, it is still alive.
      await expect(runWorkflow(store, workflow)).rejects.toThrow(
        new RegExp(
          `^workflow "keep-sets" is already running \\(run ${first.id}, alive at [^)]+\\); wait for it, or if its process died, resume it with --resume ${first.id} --force$`,
        ),
      );
      await expect(runWorkflow(store, workflow, { resume: first.id })).rejects.toThrow(
        /is running \(alive at .* --force/,
      );
      await store.db.schema.createTable('not_yet').addColumn('crm_id', 'text').addColumn('email', 'text').execute();
      const resumed = await runWorkflow(store, workflow, { resume: first.id, force: true });
      expect(resumed.status).toBe('succeeded');
      expect(resumed.activities.map((a) => a.status)).toEqual(['succeeded', 'succeeded']);
    });

    it('resumes with a changed file: new activities run, removed ones are marked skipped', async () => {
      await createContactTables(store);
      const before =
        FAILS_AT_SAVE.replace('transitions: { ok: save }', 'transitions: { ok: [save, extra] }') +
        '  - { name: extra, type: end }\n';
      const failed = await runWorkflow(store, await load(store, before));
      expect(failed.activities.map((a) => [a.activity, a.status])).toEqual([
        ['all', 'succeeded'],
        ['save', 'failed'],
        ['extra', 'pending'],
      ]);
      await store.db.schema.createTable('not_yet').addColumn('crm_id', 'text').execute();
      const after =
        FAILS_AT_SAVE.replace('operation: insert', 'operation: insert\n    transitions: { ok: audit }') +
        '  - { name: audit, type: end }\n';
      const resumed = await runWorkflow(store, await load(store, after), { resume: failed.id });
      expect(resumed.status).toBe('succeeded');
      expect(Object.fromEntries(resumed.activities.map((a) => [a.activity, a.status]))).toEqual({
        all: 'succeeded',
        save: 'succeeded',
        extra: 'skipped',
        audit: 'succeeded',
      });
      expect(resumed.activities.find((a) => a.activity === 'audit')?.recordsIn).toBe(6);
    });
  });
}
