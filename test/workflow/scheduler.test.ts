import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store-open.js';
import type { ActivityHandler } from '../../src/workflow/activity.js';
import { builtinActivities } from '../../src/workflow/activity-registry.js';
import { listRuns } from '../../src/workflow/run-history.js';
import { scheduleWorkflow } from '../../src/workflow/workflow-scheduler.js';
import { sqliteTarget } from '../support/store-targets.js';
import { createContactTables, load } from './support/workflow-fixtures.js';

describe('workflow scheduler', () => {
  const target = sqliteTarget();
  afterAll(() => target.cleanup());

  it('never starts a run while the previous one is running, and stops after maxRuns', async () => {
    const store = await openStore(target.freshUrl());
    try {
      await createContactTables(store);
      const spans: { start: number; end: number }[] = [];
      let active = 0;
      let overlapped = false;
      // Slower than the one-second tick, so ticks arrive while it runs.
      const slow: ActivityHandler = {
        async run(_config, ctx) {
          active++;
          if (active > 1) overlapped = true;
          const start = Date.now();
          await new Promise((resolve) => setTimeout(resolve, 1600));
          spans.push({ start, end: Date.now() });
          active--;
          ctx.progress(1, 1);
          return { outputs: {} };
        },
      };
      const workflow = await load(
        store,
        `name: every-second
schedule: "* * * * * *"
activities:
  - { name: read, type: query, table: account, transitions: { ok: wait } }
  - { name: wait, type: end }
`,
      );
      const skipped: Date[] = [];
      const errors: unknown[] = [];
      const handle = scheduleWorkflow(store, workflow, {
        registry: { ...builtinActivities, end: slow as ActivityHandler<never> },
        maxRuns: 2,
        onSkip: (at) => skipped.push(at),
        onError: (error) => errors.push(error),
      });
      await handle.done;
      expect(errors).toEqual([]);
      expect(overlapped).toBe(false);
      expect(spans).toHaveLength(2);
      expect(spans[1]!.start).toBeGreaterThanOrEqual(spans[0]!.end);
      expect(skipped.length).toBeGreaterThan(0);
      const runs = await listRuns(store, { workflow: 'every-second' });
      expect(runs.map((r) => [r.status, r.trigger])).toEqual([
        ['succeeded', 'schedule'],
        ['succeeded', 'schedule'],
      ]);
    } finally {
      await store.close();
    }
  });

  it('refuses a workflow without a schedule', async () => {
    const store = await openStore(target.freshUrl());
    try {
      await createContactTables(store);
      const workflow = await load(
        store,
        'name: manual\nactivities:\n  - { name: read, type: query, table: account }\n',
      );
      expect(() => scheduleWorkflow(store, workflow)).toThrow(/has no "schedule"/);
    } finally {
      await store.close();
    }
  });
});
