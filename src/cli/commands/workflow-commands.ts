import { Command } from 'commander';
import cliProgress from 'cli-progress';
import { LiaisonError } from '../../core/errors.js';
import type { Store } from '../../store/store-types.js';
import type { ActivityRegistry } from '../../workflow/activity.js';
import { createCrmConnectorActivity } from '../../sync/connector-activity.js';
import { builtinActivities } from '../../workflow/activity-registry.js';
import type { RunView } from '../../workflow/run-history.js';
import { runWorkflow, type RunEvent } from '../../workflow/workflow-engine.js';
import {
  formatIssue,
  loadWorkflowFile,
  WorkflowInvalidError,
  type LoadedWorkflow,
} from '../../workflow/workflow-load.js';
import { scheduleWorkflow } from '../../workflow/workflow-scheduler.js';
import { globalOptions, withStore } from '../cli-context.js';
import { printJson } from '../cli-output.js';
import { printRun } from './runs-commands.js';

/** Handlers the CLI runs with: the built-ins and the CRM connector. */
export function cliActivities(): ActivityRegistry {
  return { ...builtinActivities, 'crm-connector': createCrmConnectorActivity() };
}

export function workflowCommands(): Command {
  const workflow = new Command('workflow').description('validate, run and schedule workflow files');

  workflow
    .command('validate')
    .description(
      'check a workflow file (schema, transitions, cycles, cron, filters, columns in the store); runs nothing',
    )
    .argument('<file>', 'workflow YAML file')
    .action(async (file: string, _options: object, command: Command) => {
      const json = globalOptions(command).json;
      const loaded = await withStore(command, (store) => load(file, store, json));
      if (json)
        return printJson({
          valid: true,
          file,
          workflow: loaded.definition.name,
          activities: loaded.definition.activities.length,
          issues: loaded.warnings,
        });
      process.stdout.write(
        `${file}: valid (workflow "${loaded.definition.name}", ${loaded.definition.activities.length} activities)\n`,
      );
    });

  workflow
    .command('run')
    .description('run a workflow now; progress per activity; a failed run can be resumed')
    .argument('<file>', 'workflow YAML file')
    .option('--resume <run>', 'resume this failed run from its failed activity (completed activities are not re-run)')
    .option('--force', 'resume a run still marked running whose process died (or start despite one)')
    .option('--keep-working-sets', 'keep the staged working sets after a successful run (for inspection)')
    .action(
      async (
        file: string,
        options: { resume?: string; keepWorkingSets?: boolean; force?: boolean },
        command: Command,
      ) => {
        const json = globalOptions(command).json;
        const resume = options.resume === undefined ? undefined : runNumber(options.resume);
        const run = await withStore(command, async (store) => {
          const loaded = await load(file, store, json);
          const progress = json ? undefined : createProgress();
          const abort = new AbortController();
          const onSignal = () => abort.abort();
          process.once('SIGINT', onSignal);
          try {
            return await runWorkflow(store, loaded, {
              registry: cliActivities(),
              ...(resume === undefined ? {} : { resume }),
              keepWorkingSets: options.keepWorkingSets ?? false,
              force: options.force ?? false,
              signal: abort.signal,
              ...(progress ? { onEvent: progress.onEvent } : {}),
            });
          } finally {
            progress?.stop();
            process.removeListener('SIGINT', onSignal);
          }
        });
        if (json) printJson(run);
        else printRun(run);
        if (run.status === 'failed') {
          throw new LiaisonError(
            'run_failed',
            `run ${run.id} failed: ${run.error ?? 'unknown error'}; fix the cause, then: liaison workflow run ${file} --resume ${run.id}`,
          );
        }
      },
    );

  workflow
    .command('schedule')
    .description(
      'run a workflow on its cron schedule until stopped (Ctrl-C); a run never starts while the previous one runs',
    )
    .argument('<file>', 'workflow YAML file with a "schedule"')
    .option('--max-runs <n>', 'stop after this many runs')
    .action(async (file: string, options: { maxRuns?: string }, command: Command) => {
      const json = globalOptions(command).json;
      await withStore(command, async (store) => {
        const loaded = await load(file, store, json);
        const abort = new AbortController();
        const onSignal = () => abort.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          await schedule(
            store,
            loaded,
            abort.signal,
            options.maxRuns === undefined ? undefined : runNumber(options.maxRuns),
            json,
          );
        } finally {
          process.removeListener('SIGINT', onSignal);
          process.removeListener('SIGTERM', onSignal);
        }
      });
    });

  return workflow;
}

async function schedule(
  store: Store,
  loaded: LoadedWorkflow,
  signal: AbortSignal,
  maxRuns: number | undefined,
  json: boolean | undefined,
): Promise<void> {
  const line = (text: string) => process.stderr.write(`${new Date().toISOString()} ${text}\n`);
  const handle = scheduleWorkflow(store, loaded, {
    registry: cliActivities(),
    signal,
    ...(maxRuns === undefined ? {} : { maxRuns }),
    ...(json ? {} : { onEvent: plainProgress() }),
    onRun: (run: RunView) => {
      if (json) process.stdout.write(JSON.stringify({ id: run.id, status: run.status, error: run.error }) + '\n');
      else
        line(
          `run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}; next run at ${handle.nextRun()?.toISOString() ?? 'never'}`,
        );
    },
    onError: (error) => line(`error: ${error instanceof Error ? error.message : String(error)}`),
    onSkip: () => line('skipped a tick: the previous run is still running'),
  });
  line(
    `scheduled workflow "${loaded.definition.name}" (${loaded.definition.schedule}); first run at ${handle.nextRun()?.toISOString() ?? 'never'}; stop with Ctrl-C`,
  );
  await handle.done;
}

/** Loads and validates; on problems prints every issue (one line each) and throws the first as the error. */
async function load(file: string, store: Store, json: boolean | undefined): Promise<LoadedWorkflow> {
  try {
    const loaded = await loadWorkflowFile(file, store);
    if (!json) for (const warning of loaded.warnings) process.stderr.write(`liaison: ${formatIssue(file, warning)}\n`);
    return loaded;
  } catch (error) {
    if (error instanceof WorkflowInvalidError) {
      if (json) printJson({ valid: false, file, issues: error.issues });
      // Every issue on its own line, in file order; the last one becomes the error the CLI prints (exit code 1).
      const sorted = [...error.issues].sort((a, b) => a.line - b.line || (a.severity === 'error' ? 1 : -1));
      const last = sorted.filter((i) => i.severity === 'error').at(-1)!;
      for (const issue of sorted) if (issue !== last) process.stderr.write(`liaison: ${formatIssue(file, issue)}\n`);
      throw new LiaisonError('workflow_invalid', formatIssue(file, last), { details: { issues: error.issues } });
    }
    throw error;
  }
}

function runNumber(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0)
    throw new LiaisonError('invalid_input', `"${text}" is not a run number; see 'liaison runs list'`);
  return value;
}

export interface Progress {
  onEvent(event: RunEvent): void;
  stop(): void;
}

/** Bars on a terminal (records done/total, rate, ETA per activity); plain lines otherwise (CI logs, pipes). */
export function createProgress(): Progress {
  if (!process.stderr.isTTY) return { onEvent: plainProgress(), stop: () => undefined };
  const bars = new cliProgress.MultiBar(
    {
      stream: process.stderr,
      format: '{activity} [{bar}] {value}/{total} {rate}/s ETA {eta_formatted} {status}',
      barsize: 20,
      hideCursor: true,
      clearOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const width = 16;
  const active = new Map<string, { bar: cliProgress.SingleBar; started: number }>();
  const payload = (activity: string, started: number, done: number, status: string) => ({
    activity: activity.padEnd(width).slice(0, width),
    rate: Math.round(done / Math.max(0.001, (Date.now() - started) / 1000)),
    status,
  });
  return {
    onEvent(event) {
      if (event.type === 'activity-start') {
        const started = Date.now();
        const bar = bars.create(event.total ?? 1, 0, payload(event.activity, started, 0, 'running'));
        active.set(event.activity, { bar, started });
      } else if (event.type === 'progress') {
        const entry = active.get(event.activity);
        if (!entry) return;
        if (event.total !== undefined) entry.bar.setTotal(Math.max(1, event.total));
        entry.bar.update(event.done, payload(event.activity, entry.started, event.done, 'running'));
      } else if (event.type === 'activity-end') {
        const entry = active.get(event.activity);
        if (!entry) return;
        const done = Math.max(event.counters.recordsIn, event.counters.recordsOut);
        entry.bar.setTotal(Math.max(1, done));
        entry.bar.update(done, payload(event.activity, entry.started, done, event.status));
      } else if (event.type === 'activity-skip') {
        bars.create(1, 1, {
          activity: event.activity.padEnd(width).slice(0, width),
          rate: 0,
          status: 'done in an earlier attempt',
        });
      }
    },
    stop: () => bars.stop(),
  };
}

/** One line per activity start and end, and a progress line at most every 5 seconds per activity. */
function plainProgress(): (event: RunEvent) => void {
  const last = new Map<string, number>();
  const started = new Map<string, number>();
  const write = (text: string) => process.stderr.write(text + '\n');
  return (event) => {
    switch (event.type) {
      case 'run-start':
        write(`run ${event.runId} ${event.resumed ? 'resumed' : 'started'}: workflow "${event.workflow}"`);
        break;
      case 'activity-start':
        started.set(event.activity, Date.now());
        last.set(event.activity, Date.now());
        write(
          `[${event.activity}] started (${event.activityType}${event.total === undefined ? '' : `, ${event.total} records in`})`,
        );
        break;
      case 'activity-skip':
        write(`[${event.activity}] done in an earlier attempt; reusing its working sets`);
        break;
      case 'progress': {
        const now = Date.now();
        if (now - (last.get(event.activity) ?? 0) < 5000) return;
        last.set(event.activity, now);
        const seconds = Math.max(0.001, (now - (started.get(event.activity) ?? now)) / 1000);
        const rate = event.done / seconds;
        const eta =
          event.total !== undefined && rate > 0 ? `, ETA ${Math.ceil((event.total - event.done) / rate)}s` : '';
        write(
          `[${event.activity}] ${event.done}${event.total === undefined ? '' : `/${event.total}`} records (${Math.round(rate)}/s${eta})`,
        );
        break;
      }
      case 'activity-end': {
        const c = event.counters;
        write(
          `[${event.activity}] ${event.status}: in ${c.recordsIn}, out ${c.recordsOut}, rejects ${c.rejects}, api calls ${c.apiCalls}, ${(event.durationMs / 1000).toFixed(1)}s${event.error ? ` — ${event.error}` : ''}`,
        );
        break;
      }
      case 'run-end':
        write(`run ${event.runId} ${event.status}`);
        break;
    }
  };
}
