import { LiaisonError } from '../../core/errors.js';
import type { DeletedRecord, DeletedRequest, DeletedResult } from '../driver.js';
import type { QueryContext } from './salesforce-query.js';
import { soqlDateTime } from './salesforce-soql.js';
import { normaliseDateTime } from './salesforce-values.js';

/**
 * readDeleted through the replication resource `GET /sobjects/NAME/deleted/?start=&end=`. Salesforce limits how far
 * back one call looks, so longer windows are split into ≤ 30-day calls. The first call is made before returning, so
 * `earliestDateAvailable` is known up front and the caller can warn when its window starts before it.
 */

const DAY_MS = 86_400_000;
export const MAX_WINDOW_DAYS = 30;

/** `2024-01-15T10:20:30+00:00`: the documented form (seconds are ignored by Salesforce; no milliseconds). */
export function replicationDate(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 19)}+00:00`;
}

/** Splits [start, end) into windows of at most `maxDays`. */
export function splitWindow(startMs: number, endMs: number, maxDays = MAX_WINDOW_DAYS): [number, number][] {
  const out: [number, number][] = [];
  for (let from = startMs; from < endMs; from += maxDays * DAY_MS)
    out.push([from, Math.min(endMs, from + maxDays * DAY_MS)]);
  return out;
}

interface DeletedAnswer {
  deletedRecords: { id: string; deletedDate?: string }[];
  earliestDateAvailable?: string;
  latestDateCovered?: string;
}

function asAnswer(value: unknown): DeletedAnswer {
  const v = value as Partial<DeletedAnswer> | null;
  if (!v || typeof v !== 'object' || !Array.isArray(v.deletedRecords)) {
    throw new LiaisonError('crm_error', 'getDeleted: Salesforce answered without deletedRecords');
  }
  return v as DeletedAnswer;
}

export async function readDeleted(ctx: QueryContext, request: DeletedRequest): Promise<DeletedResult> {
  const meta = await ctx.describe(request.object);
  const since = request.since ?? request.cursor;
  if (!since) throw new LiaisonError('invalid_input', `readDeleted ${meta.name} needs a window start (since)`);
  const startMs = Date.parse(soqlDateTime(since));
  const endMs = request.until ? Date.parse(soqlDateTime(request.until)) : Date.now();
  if (!(startMs < endMs))
    throw new LiaisonError(
      'invalid_input',
      `readDeleted ${meta.name}: the window start ${since} is not before its end`,
    );
  // Salesforce ignores seconds: a window inside one minute is empty on its side (and a 400 if sent). Nothing can be
  // known yet; the next read starts at the same place.
  if (Math.floor(startMs / 60_000) >= Math.floor(endMs / 60_000)) {
    return {
      records: (async function* () {})(),
      nextCursor: () => new Date(Math.floor(startMs / 60_000) * 60_000).toISOString(),
    };
  }
  const windows = splitWindow(startMs, endMs);
  const fetchWindow = async ([from, to]: [number, number]): Promise<DeletedAnswer> => {
    const query = new URLSearchParams({ start: replicationDate(from), end: replicationDate(to) });
    return asAnswer(
      await ctx.session.json({
        method: 'GET',
        path: `/services/data/v${ctx.apiVersion}/sobjects/${meta.name}/deleted/?${query.toString()}`,
        headers: { Accept: 'application/json' },
        idempotent: true,
        what: `getDeleted ${meta.name}`,
        ...(request.signal ? { signal: request.signal } : {}),
      }),
    );
  };
  const first = await fetchWindow(windows[0] as [number, number]);
  let latestCovered: string | undefined;
  const convert = (answer: DeletedAnswer): DeletedRecord[] => {
    if (answer.latestDateCovered) latestCovered = normaliseDateTime(answer.latestDateCovered);
    return answer.deletedRecords.map((r) => ({
      id: r.id,
      ...(r.deletedDate ? { deletedAt: normaliseDateTime(r.deletedDate) } : {}),
    }));
  };
  async function* pages(): AsyncGenerator<DeletedRecord[]> {
    yield convert(first);
    for (const window of windows.slice(1)) yield convert(await fetchWindow(window));
  }
  return {
    records: pages(),
    ...(first.earliestDateAvailable ? { earliestDateAvailable: normaliseDateTime(first.earliestDateAvailable) } : {}),
    // The next window starts where Salesforce says its answer is complete (it may lag behind `end`).
    nextCursor: () => latestCovered,
  };
}
