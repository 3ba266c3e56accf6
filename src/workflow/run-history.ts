import { LiaisonError } from '../core/errors.js';
import { dropRunWorkingSets } from './working-set.js';
import type { Store } from '../store/store-types.js';
import type { RunVarValue } from './activity.js';
import { isAbandoned, lastSignOfLife } from './run-heartbeat.js';
import { workflowDb, type ActivityStatus, type RunStatus } from './workflow-tables.js';

/** One activity of a run, as recorded. */
export interface ActivityRunView {
  activity: string;
  type: string;
  status: ActivityStatus;
  recordsIn: number;
  recordsOut: number;
  rejects: number;
  apiCalls: number;
  startedAt: string | null;
  endedAt: string | null;
  durationMs: number | null;
  error: string | null;
  /** Transition → working-set table and row count. */
  outputs: Record<string, { table: string; count: number }>;
  vars: Record<string, RunVarValue>;
}

export interface RunView {
  id: number;
  workflow: string;
  file: string | null;
  status: RunStatus;
  trigger: string;
  startedAt: string;
  endedAt: string | null;
  error: string | null;
  attempts: number;
  /** The last time the process running it was known alive (for a running run). */
  aliveAt: string | null;
  /** Marked running, but its process stopped beating: it died (see run-heartbeat.ts). */
  abandoned: boolean;
  activities: ActivityRunView[];
}

export type RunListItem = Omit<RunView, 'activities'>;

/** Recent runs, newest first (optionally of one workflow). */
export async function listRuns(
  store: Store,
  options: { workflow?: string; limit?: number } = {},
): Promise<RunListItem[]> {
  let query = workflowDb(store)
    .selectFrom('workflow_run')
    .selectAll()
    .orderBy('id', 'desc')
    .limit(options.limit ?? 50);
  if (options.workflow) query = query.where('workflow', '=', options.workflow);
  const rows = await query.execute();
  return rows.map((row) => ({
    id: Number(row.id),
    workflow: row.workflow,
    file: row.file,
    status: row.status,
    trigger: row.trigger,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    error: row.error,
    attempts: Number(row.attempts),
    ...liveness(row),
  }));
}

/** Whether a run marked running still has a live process behind it. */
function liveness(row: { status: RunStatus; heartbeat_at: string | null; started_at: string }): {
  aliveAt: string | null;
  abandoned: boolean;
} {
  return {
    aliveAt: row.status === 'running' ? lastSignOfLife(row) : null,
    abandoned: row.status === 'running' && isAbandoned(row),
  };
}

/** One run with its activities in execution order; `run_failed`-free: throws invalid_input when absent. */
export async function showRun(store: Store, runId: number): Promise<RunView> {
  const db = workflowDb(store);
  const row = await db.selectFrom('workflow_run').selectAll().where('id', '=', runId).executeTakeFirst();
  if (!row) throw new LiaisonError('invalid_input', `no run ${runId} in ${store.location}; see 'liaison runs list'`);
  const activities = await db
    .selectFrom('workflow_run_activity')
    .selectAll()
    .where('run_id', '=', runId)
    .orderBy('position')
    .execute();
  return {
    id: Number(row.id),
    workflow: row.workflow,
    file: row.file,
    status: row.status,
    trigger: row.trigger,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    error: row.error,
    attempts: Number(row.attempts),
    ...liveness(row),
    activities: activities.map((a) => ({
      activity: a.activity,
      type: a.type,
      status: a.status,
      recordsIn: Number(a.records_in),
      recordsOut: Number(a.records_out),
      rejects: Number(a.rejects),
      apiCalls: Number(a.api_calls),
      startedAt: a.started_at,
      endedAt: a.ended_at,
      durationMs: a.duration_ms === null ? null : Number(a.duration_ms),
      error: a.error,
      outputs: JSON.parse(a.outputs_json) as ActivityRunView['outputs'],
      vars: JSON.parse(a.vars_json) as ActivityRunView['vars'],
    })),
  };
}

/**
 * Retention: drops the working sets kept by failed runs that ended before `olderThan` (successful runs drop theirs
 * at once). Such runs can no longer be resumed; their history rows stay.
 */
export async function pruneWorkingSets(store: Store, olderThan: Date): Promise<{ runs: number; tables: number }> {
  const stale = await workflowDb(store)
    .selectFrom('workflow_run')
    .select('id')
    .where('status', '=', 'failed')
    .where('ended_at', '<', olderThan.toISOString())
    .execute();
  let tables = 0;
  for (const run of stale) tables += await dropRunWorkingSets(store, Number(run.id));
  return { runs: stale.length, tables };
}
