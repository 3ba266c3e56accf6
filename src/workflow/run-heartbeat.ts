import type { Logger } from '../core/logger.js';
import { errorMessage } from '../core/errors.js';
import type { Store } from '../store/store-types.js';
import { workflowDb } from './workflow-tables.js';

/**
 * A running run's sign of life. Its process writes `workflow_run.heartbeat_at` every HEARTBEAT_MS; a run still
 * marked running whose last sign is older than STALE_AFTER_MS was left behind by a process that stopped (kill -9,
 * a crash, a lost machine): it no longer blocks a new run, and can be resumed without --force.
 * Eight missed beats: a process busy in one long statement still beats between statements.
 */
export const HEARTBEAT_MS = 15_000;
export const STALE_AFTER_MS = 120_000;

/** The last time a run's process was known alive (its start, for runs recorded before heartbeats). */
export function lastSignOfLife(run: { heartbeat_at: string | null; started_at: string }): string {
  return run.heartbeat_at ?? run.started_at;
}

export function isAbandoned(run: { heartbeat_at: string | null; started_at: string }, now = Date.now()): boolean {
  return now - Date.parse(lastSignOfLife(run)) > STALE_AFTER_MS;
}

/** Beats for `runId` every `everyMs` until the returned stop is called (which waits for a beat in progress). */
export function startHeartbeat(store: Store, runId: number, everyMs: number, log: Logger): () => Promise<void> {
  let beating: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    beating = workflowDb(store)
      .updateTable('workflow_run')
      .set({ heartbeat_at: new Date().toISOString() })
      .where('id', '=', runId)
      .where('status', '=', 'running')
      .execute()
      .then(
        () => undefined,
        // A missed beat is not the run's failure; enough of them and the run looks abandoned, which says why.
        (error: unknown) => log.warn({ runId, error: errorMessage(error) }, 'could not record the run heartbeat'),
      );
  }, everyMs);
  // The beat must not keep a finished program alive.
  timer.unref();
  return async () => {
    clearInterval(timer);
    await beating;
  };
}
