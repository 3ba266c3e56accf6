import { Cron } from 'croner';
import { LiaisonError, errorMessage } from '../core/errors.js';
import type { Store } from '../store/store-types.js';
import type { RunView } from './run-history.js';
import { runWorkflow, type RunOptions } from './workflow-engine.js';
import type { LoadedWorkflow } from './workflow-load.js';

export interface ScheduleOptions extends Omit<RunOptions, 'resume' | 'trigger'> {
  /** Stop after this many runs (tests, one-off catch-ups). */
  maxRuns?: number;
  /** Called after each run (its recorded outcome) or when a run could not start. */
  onRun?: (run: RunView) => void;
  onError?: (error: unknown) => void;
  /** A tick that comes while a run is still going is skipped (never queued): called with the skipped time. */
  onSkip?: (at: Date) => void;
}

/** A running schedule: `done` settles when it stops (maxRuns reached or `stop()`). */
export interface ScheduleHandle {
  nextRun(): Date | null;
  stop(): void;
  readonly done: Promise<void>;
}

/**
 * Runs a workflow on its cron expression until stopped. A run never starts while the previous one is running
 * (croner's `protect`), so a slow run delays nothing but skips the overlapping ticks.
 */
export function scheduleWorkflow(
  store: Store,
  workflow: LoadedWorkflow,
  options: ScheduleOptions = {},
): ScheduleHandle {
  const expression = workflow.definition.schedule;
  if (!expression) {
    throw new LiaisonError(
      'workflow_invalid',
      `workflow "${workflow.definition.name}" has no "schedule"; add e.g. schedule: "0 * * * *" or use 'liaison workflow run'`,
    );
  }
  let finished = 0;
  let resolveDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const job: Cron = new Cron(
    expression,
    {
      protect: (blocked) => options.onSkip?.(blocked.currentRun() ?? new Date()),
      catch: (error: unknown) => options.onError?.(error),
    },
    async () => {
      const work = (async () => {
        try {
          const run = await runWorkflow(store, workflow, { ...options, trigger: 'schedule' });
          options.onRun?.(run);
        } catch (error) {
          options.onError?.(
            new LiaisonError('run_failed', `scheduled run could not start: ${errorMessage(error)}`, { cause: error }),
          );
        }
      })();
      current = work;
      await work;
      current = undefined;
      finished++;
      if (options.maxRuns !== undefined && finished >= options.maxRuns) stop();
    },
  );
  let current: Promise<void> | undefined;
  // Stopping waits for the run in progress (which itself stops between activities when the signal aborts).
  const stop = () => {
    job.stop();
    void (current ?? Promise.resolve()).then(resolveDone);
  };
  options.signal?.addEventListener('abort', stop, { once: true });
  return { nextRun: () => job.nextRun(), stop, done };
}
