import { Command } from 'commander';
import { LiaisonError } from '../../core/errors.js';
import { listRuns, pruneWorkingSets, showRun, type RunView } from '../../workflow/run-history.js';
import { globalOptions, withStore } from '../cli-context.js';
import { printFields, printJson, printTable } from '../cli-output.js';

export function runsCommands(): Command {
  const runs = new Command('runs').description('workflow run history');

  runs
    .command('list')
    .description('recent runs, newest first')
    .option('--workflow <name>', 'only runs of this workflow')
    .option('--limit <n>', 'how many runs (default 50)')
    .action(async (options: { workflow?: string; limit?: string }, command: Command) => {
      const limit = options.limit === undefined ? 50 : Number(options.limit);
      if (!Number.isInteger(limit) || limit <= 0)
        throw new LiaisonError('invalid_input', `--limit "${options.limit}" is not a positive whole number`);
      const items = await withStore(command, (store) =>
        listRuns(store, { limit, ...(options.workflow ? { workflow: options.workflow } : {}) }),
      );
      if (globalOptions(command).json) return printJson(items);
      if (items.length === 0)
        return void process.stdout.write('no runs yet; start one with: liaison workflow run FILE\n');
      printTable(
        ['RUN', 'WORKFLOW', 'STATUS', 'TRIGGER', 'STARTED', 'ENDED', 'ATTEMPTS', 'ERROR'],
        items.map((r) => [r.id, r.workflow, statusText(r), r.trigger, r.startedAt, r.endedAt, r.attempts, r.error]),
      );
    });

  runs
    .command('show')
    .description('one run: per activity status, records in/out, rejects, API calls, duration, errors')
    .argument('<run>', 'run number (see runs list)')
    .action(async (id: string, _options: object, command: Command) => {
      const runId = Number(id);
      if (!Number.isInteger(runId) || runId <= 0)
        throw new LiaisonError('invalid_input', `"${id}" is not a run number; see 'liaison runs list'`);
      const run = await withStore(command, (store) => showRun(store, runId));
      if (globalOptions(command).json) return printJson(run);
      printRun(run);
    });

  runs
    .command('prune')
    .description('drop the working sets kept by failed runs older than N days (they can then no longer be resumed)')
    .option('--older-than-days <n>', 'age in days (default 7)', '7')
    .action(async (options: { olderThanDays: string }, command: Command) => {
      const days = Number(options.olderThanDays);
      if (!Number.isFinite(days) || days < 0)
        throw new LiaisonError('invalid_input', `--older-than-days "${options.olderThanDays}" is not a number of days`);
      const result = await withStore(command, (store) =>
        pruneWorkingSets(store, new Date(Date.now() - days * 86_400_000)),
      );
      if (globalOptions(command).json) return printJson(result);
      process.stdout.write(
        `dropped ${result.tables} working set(s) of ${result.runs} failed run(s) older than ${days} day(s)\n`,
      );
    });

  return runs;
}

/** The run header and its activity table, for `runs show` and the end of `workflow run`. */
export function printRun(run: RunView): void {
  printFields([
    ['run', run.id],
    ['workflow', run.workflow],
    ['file', run.file],
    ['status', statusText(run)],
    ['trigger', run.trigger],
    ['started', run.startedAt],
    ['ended', run.endedAt],
    ['attempts', run.attempts],
    ['error', run.error],
  ]);
  process.stdout.write('\n');
  printTable(
    ['ACTIVITY', 'TYPE', 'STATUS', 'IN', 'OUT', 'REJECTS', 'API CALLS', 'DURATION', 'ERROR'],
    run.activities.map((a) => [
      a.activity,
      a.type,
      a.status,
      a.recordsIn,
      a.recordsOut,
      a.rejects,
      a.apiCalls,
      a.durationMs === null ? '' : `${(a.durationMs / 1000).toFixed(1)}s`,
      a.error,
    ]),
  );
}

/** A run's status, saying when one marked running lost its process (it can be resumed without --force). */
function statusText(run: Pick<RunView, 'status' | 'abandoned' | 'aliveAt'>): string {
  return run.abandoned ? `running? (no sign of life since ${run.aliveAt}: its process died; resume it)` : run.status;
}
