import type { Logger } from '../core/logger.js';
import type { FilterValue } from '../crm/filter.js';
import type { Store } from '../store/store-types.js';
import type { ActivityConfig, ActivityType } from './workflow-schema.js';
import type { ColumnInfo } from './workflow-tables.js';
import type { WorkingSet, WorkingSetWriter } from './working-set.js';

/** A run variable's value (e.g. an incremental window bound); usable in filters as `${vars.name}`. */
export type RunVarValue = FilterValue;

/** Variables published by earlier activities of the run; `set` publishes one for the activities after this one. */
export interface RunVars {
  get(name: string): RunVarValue | undefined;
  set(name: string, value: RunVarValue): void;
  /** Every variable visible to this activity. */
  all(): Readonly<Record<string, RunVarValue>>;
}

/** Counters recorded per activity in the run history. Handlers add; the engine fills records in/out if left at 0. */
export interface ActivityCounters {
  recordsIn: number;
  recordsOut: number;
  rejects: number;
  apiCalls: number;
}

/**
 * What a handler receives. Inputs are working sets staged in the store; outputs are created per transition with
 * `createOutput` (typed columns, batched writer), or by INSERT … SELECT into `outputTable(transition)` after
 * `createOutputTable`. Everything a handler creates is dropped and recreated when a failed run resumes, so a
 * handler must either be idempotent or write its side effects in one transaction.
 *
 * @example
 * const out = await ctx.createOutput('ok', [{ name: 'email', kind: 'text' }]);
 * for await (const page of ctx.inputs[0]!.pages()) await out.write(page.map((r) => ({ email: r.email })));
 * return { outputs: { ok: await out.finish() } };
 */
export interface ActivityContext {
  readonly store: Store;
  readonly workflow: string;
  readonly runId: number;
  readonly activity: string;
  /** Input working sets, in the order of the activities that feed this one. */
  readonly inputs: readonly WorkingSet[];
  /** Transitions the workflow declares for this activity; outputs for others are not needed. */
  readonly transitions: readonly string[];
  createOutput(transition: string, columns: readonly ColumnInfo[]): Promise<WorkingSetWriter>;
  /** Creates the empty table of an output for INSERT … SELECT; finish with `finishOutput`. */
  createOutputTable(transition: string, columns: readonly ColumnInfo[]): Promise<string>;
  finishOutput(transition: string): Promise<WorkingSet>;
  /** Reports progress; `total` when known (drives the progress bar's ETA). */
  progress(done: number, total?: number): void;
  readonly counters: ActivityCounters;
  readonly vars: RunVars;
  readonly log: Logger;
  readonly signal: AbortSignal;
}

/** What a handler returns: the working set of each transition it produced. */
export interface ActivityResult {
  outputs: Record<string, WorkingSet>;
}

/** One activity type's implementation. Registered in an explicit map (see activity-registry.ts). */
export interface ActivityHandler<C extends ActivityConfig = ActivityConfig> {
  run(config: C, ctx: ActivityContext): Promise<ActivityResult>;
}

/** Activity type → handler. `crm-connector` is added by src/sync when the connector is installed. */
export type ActivityRegistry = Partial<{ [T in ActivityType]: ActivityHandler<Extract<ActivityConfig, { type: T }>> }>;
