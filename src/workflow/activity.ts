import type { Kysely } from 'kysely';
import type { Logger } from '../core/logger.js';
import type { FilterValue } from '../crm/filter.js';
import type { LiaisonDatabase, Store } from '../store/store-types.js';
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
  /**
   * A sink that takes `transition`'s rows straight into the activity it feeds, page by page, or undefined: then
   * the output is staged as usual. The engine offers one when that activity can consume pages (see
   * {@link ActivityHandler.openSink}) and nothing else reads the output; the producer then returns no working set
   * for `transition`.
   */
  openSink(transition: string, columns: readonly ColumnInfo[]): Promise<RowSink | undefined>;
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

/** Where a producer writes one output's pages when the engine streams it into the next activity. */
export interface RowSink {
  /** Writes one page (values in the store's form) inside `db`, the producer's transaction for that page. */
  write(db: Kysely<LiaisonDatabase>, rows: readonly Record<string, unknown>[]): Promise<void>;
}

/** What a consuming activity is told when it is asked to take its input page by page. */
export interface SinkRequest {
  readonly store: Store;
  readonly activity: string;
  /** The columns of the rows it will receive. */
  readonly columns: readonly ColumnInfo[];
}

/** A consuming activity's page-by-page side (see {@link ActivityHandler.openSink}). */
export interface PageConsumer {
  /** Applies a batch of rows staged alone in the working-set table `table`, inside `db` (the producer's transaction). */
  apply(db: Kysely<LiaisonDatabase>, table: string): Promise<void>;
  /** What it did over all pages, recorded as its counters. */
  finish(): { recordsOut: number; rejects: number };
}

/** What a handler returns: the working set of each transition it produced. */
export interface ActivityResult {
  outputs: Record<string, WorkingSet>;
}

/** One activity type's implementation. Registered in an explicit map (see activity-registry.ts). */
export interface ActivityHandler<C extends ActivityConfig = ActivityConfig> {
  run(config: C, ctx: ActivityContext): Promise<ActivityResult>;
  /**
   * Optional: consume the input page by page while the producer runs, instead of as a whole staged working set
   * afterwards (one write per record instead of two, and the writing overlaps the producer's waiting on a CRM).
   * Validates as `run` would; undefined when this configuration cannot (it must be safe to apply a page twice,
   * since a producer that fails is run again). Only used when this activity's own outputs are not needed.
   */
  openSink?(config: C, request: SinkRequest): Promise<PageConsumer | undefined>;
}

/** Activity type → handler. `crm-connector` is added by src/sync when the connector is installed. */
export type ActivityRegistry = Partial<{ [T in ActivityType]: ActivityHandler<Extract<ActivityConfig, { type: T }>> }>;
