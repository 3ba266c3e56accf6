import type { Transaction } from 'kysely';
import { LiaisonError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { tableNames } from '../store/store-open.js';
import type { LiaisonDatabase, Store } from '../store/store-types.js';
import type { LoadedWorkflow } from './workflow-load.js';
import type { ActivityConfig } from './workflow-schema.js';
import { isAbandoned, lastSignOfLife } from './run-heartbeat.js';
import { workflowDb, type WorkflowTables } from './workflow-tables.js';

/** Records a new run and its activities (all pending); refuses while another run of the workflow is running. */
export async function startRun(
  store: Store,
  workflow: LoadedWorkflow,
  order: readonly ActivityConfig[],
  trigger: string,
  force: boolean,
): Promise<number> {
  const db = workflowDb(store);
  const now = new Date().toISOString();
  // One run per workflow at a time, across processes (a schedule and a manual run must not interleave writes).
  const running = await db
    .selectFrom('workflow_run')
    .select(['id', 'heartbeat_at', 'started_at'])
    .where('workflow', '=', workflow.definition.name)
    .where('status', '=', 'running')
    .orderBy('id', 'desc')
    .executeTakeFirst();
  const abandoned = running !== undefined && isAbandoned(running);
  if (running && !abandoned && !force) {
    throw new LiaisonError(
      'run_failed',
      `workflow "${workflow.definition.name}" is already running (run ${running.id}, alive at ${lastSignOfLife(running)}); wait for it, or if its process died, resume it with --resume ${running.id} --force`,
    );
  }
  return db.transaction().execute(async (trx) => {
    // A run whose process stopped beating is recorded as failed, so it reads as what it is and can be resumed.
    if (running && abandoned) await markAbandoned(trx, Number(running.id), lastSignOfLife(running));
    const row = await trx
      .insertInto('workflow_run')
      .values({
        workflow: workflow.definition.name,
        file: workflow.file,
        definition_hash: workflow.hash,
        status: 'running',
        trigger,
        started_at: now,
        heartbeat_at: now,
        ended_at: null,
        error: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const runId = Number(row.id);
    await trx
      .insertInto('workflow_run_activity')
      .values(
        order.map((a, position) => ({
          run_id: runId,
          activity: a.name,
          type: a.type,
          position,
          status: 'pending' as const,
          started_at: null,
          ended_at: null,
          duration_ms: null,
          error: null,
        })),
      )
      .execute();
    return runId;
  });
}

/**
 * Reopens a failed run (or, forced, one whose process died) for resume: checks it belongs to this workflow and that
 * its completed activities' working sets still exist, and adds rows for activities new in the file.
 */
export async function reopenRun(
  store: Store,
  workflow: LoadedWorkflow,
  order: readonly ActivityConfig[],
  runId: number,
  log: Logger,
  force: boolean,
): Promise<number> {
  const db = workflowDb(store);
  const run = await db.selectFrom('workflow_run').selectAll().where('id', '=', runId).executeTakeFirst();
  if (!run) throw new LiaisonError('invalid_input', `no run ${runId} to resume; see 'liaison runs list'`);
  if (run.workflow !== workflow.definition.name) {
    throw new LiaisonError(
      'invalid_input',
      `run ${runId} belongs to workflow "${run.workflow}", not "${workflow.definition.name}"; name the right file`,
    );
  }
  // A run still marked running is resumable when its process stopped beating (see run-heartbeat.ts), or forced.
  if (run.status !== 'failed' && !(run.status === 'running' && (force || isAbandoned(run))))
    throw new LiaisonError(
      'invalid_input',
      run.status === 'running'
        ? `run ${runId} is running (alive at ${lastSignOfLife(run)}); wait for it, or if its process died, resume it with --force`
        : `run ${runId} is ${run.status}; only a failed run can be resumed (start a new run instead)`,
    );
  const kept = await db
    .selectFrom('workflow_run_activity')
    .select(['activity', 'outputs_json'])
    .where('run_id', '=', runId)
    .where('status', '=', 'succeeded')
    .execute();
  const present = new Set(await tableNames(store));
  for (const activity of kept) {
    for (const output of Object.values(JSON.parse(activity.outputs_json) as Record<string, { table: string }>)) {
      if (!present.has(output.table)) {
        throw new LiaisonError(
          'invalid_input',
          `run ${runId} cannot be resumed: the working sets of activity "${activity.activity}" are gone (removed after the retention period); start a new run`,
        );
      }
    }
  }
  if (run.definition_hash !== workflow.hash)
    log.warn({ runId }, 'the workflow file changed since this run started; resuming with the new file');
  const existing = new Set(
    (await db.selectFrom('workflow_run_activity').select('activity').where('run_id', '=', runId).execute()).map(
      (r) => r.activity,
    ),
  );
  await db.transaction().execute(async (trx) => {
    await trx
      .updateTable('workflow_run')
      .set((eb) => ({
        status: 'running',
        ended_at: null,
        error: null,
        heartbeat_at: new Date().toISOString(),
        definition_hash: workflow.hash,
        attempts: eb('attempts', '+', 1),
      }))
      .where('id', '=', runId)
      .execute();
    for (const [position, a] of order.entries()) {
      if (existing.has(a.name)) continue;
      await trx
        .insertInto('workflow_run_activity')
        .values({
          run_id: runId,
          activity: a.name,
          type: a.type,
          position,
          status: 'pending',
          started_at: null,
          ended_at: null,
          duration_ms: null,
          error: null,
        })
        .execute();
    }
  });
  return runId;
}

/** Records a run left running by a process that stopped as failed, saying so. */
async function markAbandoned(
  trx: Transaction<LiaisonDatabase & WorkflowTables>,
  runId: number,
  alive: string,
): Promise<void> {
  await trx
    .updateTable('workflow_run')
    .set({
      status: 'failed',
      ended_at: new Date().toISOString(),
      error: `abandoned: the process running it stopped (last alive at ${alive}); resume it with --resume ${runId}`,
    })
    .where('id', '=', runId)
    .where('status', '=', 'running')
    .execute();
}
