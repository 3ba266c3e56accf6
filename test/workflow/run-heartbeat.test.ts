import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import type { ActivityHandler, ActivityRegistry } from '../../src/workflow/activity.js';
import { builtinActivities } from '../../src/workflow/activity-registry.js';
import { listRuns, showRun } from '../../src/workflow/run-history.js';
import { runWorkflow } from '../../src/workflow/workflow-engine.js';
import { workflowDb } from '../../src/workflow/workflow-tables.js';
import { storeTargets } from '../support/store-targets.js';
import { load } from './support/workflow-fixtures.js';

const WAITING = `
name: waiting
activities:
  - name: read
    type: query
    table: recipient
    transitions: { ok: finish }
  - name: finish
    type: end
`;

/** An end activity that takes its time, so that a run lasts long enough to beat. */
const slowEnd: ActivityHandler = {
  async run() {
    await new Promise((resolve) => setTimeout(resolve, 300));
    return { outputs: {} };
  },
};

const minutesAgo = (minutes: number): string => new Date(Date.now() - minutes * 60_000).toISOString();

for (const target of storeTargets()) {
  describe(`run heartbeat on ${target.name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await openStore(target.freshUrl());
    });
    afterEach(() => store.close());
    afterAll(() => target.cleanup());

    /** A run recorded as running by a process that is not this one, last alive at `aliveAt`. */
    const leftRunning = async (aliveAt: string): Promise<number> => {
      const row = await workflowDb(store)
        .insertInto('workflow_run')
        .values({
          workflow: 'waiting',
          file: 'test.yaml',
          definition_hash: 'x',
          status: 'running',
          trigger: 'manual',
          started_at: minutesAgo(30),
          heartbeat_at: aliveAt,
          ended_at: null,
          error: null,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      return Number(row.id);
    };

    it('records signs of life while a run runs', async () => {
      const registry: ActivityRegistry = { ...builtinActivities, end: slowEnd as ActivityHandler<never> };
      const run = await runWorkflow(store, await load(store, WAITING), { registry, heartbeatMs: 20 });
      expect(run.status).toBe('succeeded');
      const row = await workflowDb(store)
        .selectFrom('workflow_run')
        .select(['started_at', 'heartbeat_at'])
        .where('id', '=', run.id)
        .executeTakeFirstOrThrow();
      // Beats every 20 ms through a 300 ms activity: the last one is well after the start.
      expect(Date.parse(row.heartbeat_at!) - Date.parse(row.started_at)).toBeGreaterThanOrEqual(150);
      expect(run.abandoned).toBe(false);
    });

    it('lets a new run start over a run whose process stopped beating, recording that one as abandoned', async () => {
      const dead = await leftRunning(minutesAgo(5));
      expect((await listRuns(store)).find((r) => r.id === dead)).toMatchObject({ abandoned: true });
      const run = await runWorkflow(store, await load(store, WAITING));
      expect(run.status).toBe('succeeded');
      const before = await showRun(store, dead);
      expect(before).toMatchObject({ status: 'failed', abandoned: false });
      expect(before.error).toMatch(/^abandoned: the process running it stopped .*--resume/);
    });

    it('still refuses a new run while the other run is alive', async () => {
      const alive = await leftRunning(new Date().toISOString());
      await expect(runWorkflow(store, await load(store, WAITING))).rejects.toMatchObject({
        code: 'run_failed',
        message: expect.stringMatching(new RegExp(`already running \\(run ${alive}, alive at .*--force`)),
      });
      expect((await showRun(store, alive)).status).toBe('running');
    });

    it('resumes a run whose process stopped beating without --force, but not a live one', async () => {
      const workflow = await load(store, WAITING);
      const dead = await leftRunning(minutesAgo(5));
      const resumed = await runWorkflow(store, workflow, { resume: dead });
      expect(resumed).toMatchObject({ id: dead, status: 'succeeded', attempts: 2 });
      const alive = await leftRunning(new Date().toISOString());
      await expect(runWorkflow(store, workflow, { resume: alive })).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringMatching(/is running \(alive at .*resume it with --force/),
      });
    });
  });
}
