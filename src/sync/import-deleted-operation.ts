import type { ActivityContext, ActivityResult } from '../workflow/activity.js';
import type { CrmConnectorConfig } from '../workflow/workflow-schema.js';
import { appendRows } from '../store/row-writes.js';
import type { ConnectorSession } from './connector-session.js';
import { committedWatermark, savePendingWatermark } from './import-watermark.js';

/** When nothing says where to start, look back this far: Salesforce keeps deleted records 15 days by default. */
const DEFAULT_LOOKBACK_DAYS = 15;
const FIELD = 'deletions';

/**
 * Import objects deleted in the CRM: ids and deletion dates in a window (explicit `since`/`until`, else from the
 * last successful run's end to now), through the driver's replication or change-tracking API. A window that starts
 * before the earliest date the CRM still covers is reported (a warning naming that date, and the run variable
 * `<activity>_earliest_available`), never silently truncated.
 */
export async function runImportDeleted(
  config: CrmConnectorConfig,
  ctx: ActivityContext,
  session: ConnectorSession,
): Promise<ActivityResult> {
  const { driver, schema } = session;
  const mark = await committedWatermark(ctx.store, ctx.workflow, ctx.activity);
  const until = config.until ? iso(config.until) : new Date().toISOString();
  const since = config.since
    ? iso(config.since)
    : (mark?.windowEnd ?? new Date(Date.now() - DEFAULT_LOOKBACK_DAYS * 86_400_000).toISOString());
  // A change-tracking cursor (Dataverse delta link) is kept as the watermark value; dates are the window.
  const cursor = mark?.value && !/^\d{4}-\d{2}-\d{2}/.test(mark.value) ? mark.value : undefined;

  const result = await driver.readDeleted({
    object: schema.crmObject,
    since,
    until,
    ...(cursor ? { cursor } : {}),
    signal: ctx.signal,
  });
  const prefix = ctx.activity.replace(/[^A-Za-z0-9_]/g, '_');
  // Only a window someone chose (in the file, or by an earlier run) can be cut short; a first run's default is not.
  const chosen = config.since !== undefined || mark?.windowEnd != null;
  if (
    result.earliestDateAvailable &&
    !cursor &&
    chosen &&
    Date.parse(result.earliestDateAvailable) > Date.parse(since)
  ) {
    process.stderr.write(
      `liaison: warning: activity "${ctx.activity}": ${schema.crmObject} deletions are kept only since ${result.earliestDateAvailable}, the window asked starts ${since}; earlier deletions cannot be imported\n`,
    );
    ctx.vars.set(`${prefix}_earliest_available`, { datetime: result.earliestDateAvailable });
  }

  const table = await ctx.createOutputTable('ok', [
    { name: schema.crmIdColumn, kind: 'text' },
    { name: 'deleted_at', kind: 'text' },
  ]);
  let done = 0;
  for await (const page of result.records) {
    await appendRows(
      ctx.store,
      ctx.store.db,
      table,
      page.map((r) => ({ [schema.crmIdColumn]: r.id, deleted_at: r.deletedAt ?? null })),
    );
    done += page.length;
    ctx.progress(done);
  }
  // The CRM may cover less than asked (Salesforce truncates to the minute): the next window starts where its
  // answer was complete, so deletions near the end of this window are read next time rather than lost.
  const next = result.nextCursor();
  const covered = next && /^\d{4}-\d{2}-\d{2}/.test(next) ? next : until;
  await savePendingWatermark(
    ctx.store.db,
    { workflow: ctx.workflow, activity: ctx.activity, runId: ctx.runId },
    {
      field: FIELD,
      value: next ?? covered,
      windowStart: since,
      windowEnd: covered,
    },
  );
  ctx.vars.set(`${prefix}_window_start`, { datetime: since });
  ctx.vars.set(`${prefix}_window_end`, { datetime: until });
  const ok = await ctx.finishOutput('ok');
  ctx.counters.recordsOut = ok.count;
  return { outputs: { ok } };
}

function iso(value: string): string {
  return new Date(/T/.test(value) ? value : `${value}T00:00:00Z`).toISOString();
}
