import { sql } from 'kysely';
import { LiaisonError, errorMessage } from '../core/errors.js';
import { logger as defaultLogger, type Logger } from '../core/logger.js';
import { appendRows } from '../store/row-writes.js';
import type { Store } from '../store/store-types.js';
import type {
  ActivityContext,
  ActivityCounters,
  ActivityHandler,
  ActivityRegistry,
  PageConsumer,
  RowSink,
  RunVarValue,
} from './activity.js';
import { builtinActivities } from './activity-registry.js';
import { pruneWorkingSets, showRun, type RunView } from './run-history.js';
import { HEARTBEAT_MS, startHeartbeat } from './run-heartbeat.js';
import { reopenRun, startRun } from './run-lifecycle.js';
import { executionOrder, type LoadedWorkflow } from './workflow-load.js';
import { targetsOf, type ActivityConfig } from './workflow-schema.js';
import { workflowDb, type ColumnInfo } from './workflow-tables.js';
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
  /**
   * Rows a streamed output stages before its consumer applies them (default 25,000; see STREAM_BATCH_ROWS). Set
   * 0 to stage every output whole, as before streaming.
   */
  streamBatchRows?: number;
  /** Failed runs older than this many days lose their working sets when a new run starts (default 7). */
  retentionDays?: number;
  /** How often the run's process records that it is alive (default 15 s; see run-heartbeat.ts). */
  heartbeatMs?: number;
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
  // Beats while this process runs the run, so a run it leaves behind (kill -9, a crash) can be told from a live one.
  const stopHeartbeat = startHeartbeat(store, runId, options.heartbeatMs ?? HEARTBEAT_MS, log);
  try {
    const db = workflowDb(store);
    const recorded = new Map((await showRun(store, runId)).activities.map((a) => [a.activity, a]));
    const outputs = new Map<string, Record<string, WorkingSet>>();
    const vars = new Map<string, RunVarValue>();
    // Activities whose input was streamed into them while their producer ran: already recorded, not run again.
    const streamed = new Set<string>();
    let failure: string | undefined;

    for (const config of order) {
      if (streamed.has(config.name)) continue;
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
        const batchRows = options.streamBatchRows ?? STREAM_BATCH_ROWS;
        const fusion = batchRows > 0 ? planFusion(config, order, registry, recorded) : undefined;
        let stream: OpenStream | undefined;
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
          async openSink(transition, columns) {
            if (!fusion || transition !== fusion.transition || stream) return undefined;
            const table = workingSetName(runId, config.name, transition);
            stream = await openStream(store, fusion, table, columns, batchRows);
            if (stream) created.add(table);
            return stream?.sink;
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
        const open = stream;
        if (open) await store.db.transaction().execute((trx) => open.flush(trx));
        if (counters.recordsIn === 0) counters.recordsIn = total;
        if (counters.recordsOut === 0) counters.recordsOut = result.outputs.ok?.count ?? 0;
        outputs.set(config.name, result.outputs);
        const durationMs = Date.now() - started;
        await recordSucceeded(store, runId, config.name, {
          counters,
          durationMs,
          outputs: Object.fromEntries(
            Object.entries(result.outputs).map(([t, ws]) => [t, { table: ws.table, count: ws.count }]),
          ),
          vars: published,
        });
        emit({ type: 'activity-end', activity: config.name, status: 'succeeded', counters, durationMs });
        if (stream && fusion) {
          await recordStreamed(store, runId, fusion.consumer, stream, emit);
          streamed.add(fusion.consumer.name);
        }
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
  } finally {
    await stopHeartbeat();
  }
}

/** A producer's output streamed into the one activity it feeds, when that activity can take pages. */
interface Fusion {
  transition: string;
  consumer: ActivityConfig;
  handler: ActivityHandler;
}

/**
 * The output of `config` that can go page by page into its consumer: the output feeds exactly one activity, that
 * activity has no other input, can consume pages, has not run yet, and its own outputs lead only to end
 * activities (so nothing needs them staged).
 */
function planFusion(
  config: ActivityConfig,
  order: readonly ActivityConfig[],
  registry: ActivityRegistry,
  recorded: Map<string, { status: string }>,
): Fusion | undefined {
  const byName = new Map(order.map((a) => [a.name, a]));
  const feeds = (name: string) =>
    order
      .flatMap((a) => Object.values(a.transitions ?? {}).flatMap((value) => targetsOf(value)))
      .filter((target) => target === name).length;
  for (const [transition, value] of Object.entries(config.transitions ?? {})) {
    const targets = targetsOf(value);
    const consumer = targets.length === 1 ? byName.get(targets[0]!) : undefined;
    if (!consumer || recorded.get(consumer.name)?.status === 'succeeded' || feeds(consumer.name) !== 1) continue;
    const handler = registry[consumer.type] as ActivityHandler | undefined;
    if (!handler?.openSink) continue;
    const onward = Object.values(consumer.transitions ?? {}).flatMap((v) => targetsOf(v));
    if (!onward.every((name) => byName.get(name)?.type === 'end')) continue;
    return { transition, consumer, handler };
  }
  return undefined;
}

interface OpenStream {
  sink: RowSink;
  consumer: PageConsumer;
  /** Applies what is still staged (after the producer's last page). */
  flush(db: Store['db']): Promise<void>;
  rows: number;
  busyMs: number;
}

/**
 * Rows staged before the consumer applies them as one batch: large enough that one statement and one commit serve
 * many pages (measured on SQLite: a statement per 2,000-row page made the save 2-3x slower), small enough to apply
 * while the producer waits for its next pages.
 */
const STREAM_BATCH_ROWS = 25_000;

/**
 * Asks the consumer for its batch side. Pages are appended to `table` (a working set of the producer's output that
 * only ever holds one batch) and, once a batch is full, applied by the consumer and cleared, all in the producer's
 * transaction for that page.
 */
async function openStream(
  store: Store,
  fusion: Fusion,
  table: string,
  columns: readonly ColumnInfo[],
  batchRows: number,
): Promise<OpenStream | undefined> {
  const consumer = await fusion.handler.openSink!(fusion.consumer, {
    store,
    activity: fusion.consumer.name,
    columns,
  });
  if (!consumer) return undefined;
  // On SQLite the batch table is temporary: rows that only pass through never reach the database file or its
  // write-ahead log (a temporary file instead; `temp_store = MEMORY` cost the 1M Dataverse import ~20 MB of peak RSS).
  // It is the store's single connection, so the batches see it.
  await createWorkingSetTable(store, table, columns, { temporary: store.dialect === 'sqlite' });
  let staged = 0;
  const flush = async (db: Store['db']) => {
    if (staged === 0) return;
    const started = performance.now();
    await consumer.apply(db, table);
    // TRUNCATE on PostgreSQL: deleted rows would stay in the table as dead tuples that every later batch scans.
    await (store.dialect === 'postgres'
      ? sql`truncate ${sql.table(table)}`.execute(db)
      : sql`delete from ${sql.table(table)}`.execute(db));
    staged = 0;
    stream.busyMs += performance.now() - started;
  };
  const stream: OpenStream = {
    consumer,
    rows: 0,
    busyMs: 0,
    flush,
    sink: {
      async write(db, rows) {
        if (rows.length === 0) return;
        await appendRows(store, db, table, rows);
        staged += rows.length;
        stream.rows += rows.length;
        if (staged >= batchRows) await flush(db);
      },
    },
  };
  return stream;
}

/** Records the streamed consumer as run: its counters, no working sets (nothing reads them). */
async function recordStreamed(
  store: Store,
  runId: number,
  consumer: ActivityConfig,
  stream: OpenStream,
  emit: (event: RunEvent) => void,
): Promise<void> {
  const result = stream.consumer.finish();
  const counters: ActivityCounters = {
    recordsIn: stream.rows,
    recordsOut: result.recordsOut,
    rejects: result.rejects,
    apiCalls: 0,
  };
  const durationMs = Math.round(stream.busyMs);
  emit({ type: 'activity-start', activity: consumer.name, activityType: consumer.type, total: stream.rows });
  // It ran inside its producer: started and ended are recorded as now, its duration is the time its batches took.
  await recordSucceeded(store, runId, consumer.name, { counters, durationMs, started: true });
  emit({ type: 'activity-end', activity: consumer.name, status: 'succeeded', counters, durationMs });
}

/** Marks an activity of the run succeeded, with its counters, outputs (none when nothing reads them) and variables. */
async function recordSucceeded(
  store: Store,
  runId: number,
  activity: string,
  result: {
    counters: ActivityCounters;
    durationMs: number;
    outputs?: Record<string, { table: string; count: number }>;
    vars?: Record<string, RunVarValue>;
    /** Also sets started_at (and clears any earlier error): the activity had no start of its own recorded. */
    started?: boolean;
  },
): Promise<void> {
  const now = new Date().toISOString();
  await workflowDb(store)
    .updateTable('workflow_run_activity')
    .set({
      status: 'succeeded',
      ...(result.started ? { started_at: now, error: null } : {}),
      ended_at: now,
      duration_ms: result.durationMs,
      records_in: result.counters.recordsIn,
      records_out: result.counters.recordsOut,
      rejects: result.counters.rejects,
      api_calls: result.counters.apiCalls,
      outputs_json: JSON.stringify(result.outputs ?? {}),
      vars_json: JSON.stringify(result.vars ?? {}),
    })
    .where('run_id', '=', runId)
    .where('activity', '=', activity)
    .execute();
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
