import { LiaisonError, errorMessage } from '../core/errors.js';
import { logger as defaultLogger, type Logger } from '../core/logger.js';
import type { Store } from '../store/store-types.js';
import type { ActivityContext, ActivityCounters, ActivityHandler, ActivityRegistry, RunVarValue } from './activity.js';
import { builtinActivities } from './activity-registry.js';
import { pruneWorkingSets, showRun, type RunView } from './run-history.js';
import { reopenRun, startRun } from './run-lifecycle.js';
import { executionOrder, type LoadedWorkflow } from './workflow-load.js';
import { targetsOf, type ActivityConfig } from './workflow-schema.js';
import { workflowDb } from './workflow-tables.js';
import {
  createWorkingSet,
  createWorkingSetTable,
  dropRunWorkingSets,
  openWorkingSet,
  workingSetName,
  type WorkingSet,
} from './working-set.js';

/** Events a run emits (the CLI draws progress bars or plain lines from them). */
export type RunEvent =
  | { type: 'run-start'; runId: number; workflow: string; resumed: boolean }
  | { type: 'activity-start'; activity: string; activityType: string; total?: number }
  | { type: 'activity-skip'; activity: string; reason: 'completed-earlier' }
  | { type: 'progress'; activity: string; done: number; total?: number }
  | {
      type: 'activity-end';
      activity: string;
      status: 'succeeded' | 'failed';
      counters: ActivityCounters;
      durationMs: number;
      error?: string;
    }
  | { type: 'run-end'; runId: number; status: 'succeeded' | 'failed'; error?: string };

export interface RunOptions {
  /** Handlers by activity type (default: the built-ins; the connector adds its own). */
  registry?: ActivityRegistry;
  /** Resume this failed run: completed activities are not re-executed, their working sets are reused. */
  resume?: number;
  trigger?: 'manual' | 'schedule';
  signal?: AbortSignal;
  onEvent?: (event: RunEvent) => void;
  /** Keep working sets after a successful run (debugging); failed runs always keep them for --resume. */
  keepWorkingSets?: boolean;
  /** Resume a run still marked running (its process died), or start one although another is marked running. */
  force?: boolean;
  /** Failed runs older than this many days lose their working sets when a new run starts (default 7). */
  retentionDays?: number;
  log?: Logger;
}

/**
 * Runs a validated workflow: activities in dependency order, each one's outcome recorded before the next starts.
 * A failing activity stops the run (status failed, its error recorded); its partial outputs are dropped, the
 * completed activities' outputs are kept, so `resume` re-executes from the failed activity without duplicates.
 * Returns the recorded run (it does not throw for a failed activity; check `status`).
 */
export async function runWorkflow(store: Store, workflow: LoadedWorkflow, options: RunOptions = {}): Promise<RunView> {
  const registry = options.registry ?? builtinActivities;
  const log = (options.log ?? defaultLogger()).child({ workflow: workflow.definition.name });
  const emit = options.onEvent ?? (() => undefined);
  const order = executionOrder(workflow.definition);
  if (options.resume === undefined) {
    const days = options.retentionDays ?? 7;
    const pruned = await pruneWorkingSets(store, new Date(Date.now() - days * 86_400_000));
    if (pruned.runs > 0) log.info(pruned, 'dropped the working sets of failed runs past the retention period');
  }
  const runId =
    options.resume === undefined
      ? await startRun(store, workflow, order, options.trigger ?? 'manual', options.force ?? false)
      : await reopenRun(store, workflow, order, options.resume, log, options.force ?? false);
  emit({ type: 'run-start', runId, workflow: workflow.definition.name, resumed: options.resume !== undefined });
  const db = workflowDb(store);
  const recorded = new Map((await showRun(store, runId)).activities.map((a) => [a.activity, a]));
  const outputs = new Map<string, Record<string, WorkingSet>>();
  const vars = new Map<string, RunVarValue>();
  let failure: string | undefined;

  for (const config of order) {
    const previous = recorded.get(config.name);
    if (previous?.status === 'succeeded') {
      const reopened: Record<string, WorkingSet> = {};
      for (const [transition, output] of Object.entries(previous.outputs))
        reopened[transition] = await openWorkingSet(store, output.table);
      outputs.set(config.name, reopened);
      for (const [name, value] of Object.entries(previous.vars)) vars.set(name, value);
      emit({ type: 'activity-skip', activity: config.name, reason: 'completed-earlier' });
      continue;
    }
    const started = Date.now();
    const counters: ActivityCounters = { recordsIn: 0, recordsOut: 0, rejects: 0, apiCalls: 0 };
    const published: Record<string, RunVarValue> = {};
    const created = new Set<string>();
    try {
      if (options.signal?.aborted)
        throw new LiaisonError('run_failed', 'the run was stopped before this activity started');
      const inputs = await inputsOf(store, runId, config, order, outputs);
      const total = inputs.reduce((sum, input) => sum + input.count, 0);
      await db
        .updateTable('workflow_run_activity')
        .set({ status: 'running', started_at: new Date(started).toISOString(), error: null, ended_at: null })
        .where('run_id', '=', runId)
        .where('activity', '=', config.name)
        .execute();
      emit({
        type: 'activity-start',
        activity: config.name,
        activityType: config.type,
        ...(inputs.length > 0 ? { total } : {}),
      });
      const handler = registry[config.type] as ActivityHandler | undefined;
      if (!handler) {
        throw new LiaisonError(
          'not_supported',
          `activity type "${config.type}" has no handler in this build (activity "${config.name}")`,
        );
      }
      const pending = new Map<string, string>();
      const ctx: ActivityContext = {
        store,
        workflow: workflow.definition.name,
        runId,
        activity: config.name,
        inputs,
        transitions: Object.keys(config.transitions ?? {}),
        async createOutput(transition, columns) {
          const table = workingSetName(runId, config.name, transition);
          created.add(table);
          return createWorkingSet(store, table, columns);
        },
        async createOutputTable(transition, columns) {
          const table = workingSetName(runId, config.name, transition);
          created.add(table);
          pending.set(transition, table);
          await createWorkingSetTable(store, table, columns);
          return table;
        },
        async finishOutput(transition) {
          const table = pending.get(transition);
          if (!table)
            throw new LiaisonError(
              'internal',
              `activity "${config.name}" finished output "${transition}" it never created`,
            );
          return openWorkingSet(store, table);
        },
        progress: (done, totalNow) =>
          emit({
            type: 'progress',
            activity: config.name,
            done,
            ...(totalNow === undefined ? {} : { total: totalNow }),
          }),
        counters,
        vars: {
          get: (name) => vars.get(name),
          set: (name, value) => {
            vars.set(name, value);
            published[name] = value;
          },
          all: () => Object.fromEntries(vars),
        },
        log: log.child({ activity: config.name }),
        signal: options.signal ?? new AbortController().signal,
      };
      const result = await handler.run(config, ctx);
      if (counters.recordsIn === 0) counters.recordsIn = total;
      if (counters.recordsOut === 0) counters.recordsOut = result.outputs.ok?.count ?? 0;
      outputs.set(config.name, result.outputs);
      const durationMs = Date.now() - started;
      await db
        .updateTable('workflow_run_activity')
        .set({
          status: 'succeeded',
          ended_at: new Date().toISOString(),
          duration_ms: durationMs,
          records_in: counters.recordsIn,
          records_out: counters.recordsOut,
          rejects: counters.rejects,
          api_calls: counters.apiCalls,
          outputs_json: JSON.stringify(
            Object.fromEntries(
              Object.entries(result.outputs).map(([t, ws]) => [t, { table: ws.table, count: ws.count }]),
            ),
          ),
          vars_json: JSON.stringify(published),
        })
        .where('run_id', '=', runId)
        .where('activity', '=', config.name)
        .execute();
      emit({ type: 'activity-end', activity: config.name, status: 'succeeded', counters, durationMs });
    } catch (error) {
      failure = `activity "${config.name}" failed: ${errorMessage(error)}`;
      // Info, not warn: the failure is recorded in the run and reported by the caller; logs are for diagnosis.
      log.info({ activity: config.name, err: errorMessage(error) }, 'activity failed');
      // Partial outputs are dropped so a resume starts this activity from a clean slate.
      for (const table of created)
        await store.db.schema
          .dropTable(table)
          .ifExists()
          .execute()
          .catch(() => undefined);
      const durationMs = Date.now() - started;
      await db
        .updateTable('workflow_run_activity')
        .set({
          status: 'failed',
          ended_at: new Date().toISOString(),
          duration_ms: durationMs,
          error: errorMessage(error),
          api_calls: counters.apiCalls,
          rejects: counters.rejects,
        })
        .where('run_id', '=', runId)
        .where('activity', '=', config.name)
        .execute();
      emit({
        type: 'activity-end',
        activity: config.name,
        status: 'failed',
        counters,
        durationMs,
        error: errorMessage(error),
      });
      break;
    }
  }
  const status = failure === undefined ? 'succeeded' : 'failed';
  if (status === 'succeeded') {
    // Activities removed from the file between a failure and its resume never ran: say so rather than "pending".
    await db
      .updateTable('workflow_run_activity')
      .set({ status: 'skipped' })
      .where('run_id', '=', runId)
      .where('status', '=', 'pending')
      .execute();
  }
  await db
    .updateTable('workflow_run')
    .set({ status, ended_at: new Date().toISOString(), error: failure ?? null })
    .where('id', '=', runId)
    .execute();
  if (status === 'succeeded' && !options.keepWorkingSets) await dropRunWorkingSets(store, runId);
  emit({ type: 'run-end', runId, status, ...(failure ? { error: failure } : {}) });
  return showRun(store, runId);
}

/** Working sets sent to `config` by earlier activities (definition order); an undeclared output reads as empty. */
async function inputsOf(
  store: Store,
  runId: number,
  config: ActivityConfig,
  order: readonly ActivityConfig[],
  outputs: Map<string, Record<string, WorkingSet>>,
): Promise<WorkingSet[]> {
  const inputs: WorkingSet[] = [];
  for (const upstream of order) {
    for (const [transition, value] of Object.entries(upstream.transitions ?? {})) {
      if (!targetsOf(value).includes(config.name)) continue;
      const produced = outputs.get(upstream.name)?.[transition];
      if (produced) inputs.push(produced);
      else {
        const writer = await createWorkingSet(store, workingSetName(runId, upstream.name, transition), []);
        inputs.push(await writer.finish());
      }
    }
  }
  return inputs;
}
