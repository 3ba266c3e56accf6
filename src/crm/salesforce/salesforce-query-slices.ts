import type { QueryRequest, RecordPage } from '../driver.js';
import { parseJson } from './salesforce-http.js';
import { clampPageSize, streamSoql, type CompiledQuery, type QueryContext } from './salesforce-query.js';
import { compileSelect, soqlDateTime } from './salesforce-soql.js';
import { normaliseDateTime, recordMapper } from './salesforce-values.js';

/**
 * Parallel reading of a large unordered query. A query locator must be read in order, so parallelism comes from
 * independent queries over disjoint SystemModstamp ranges:
 * 1. the first page is read ordered by the modstamp (it is also the answer for small results);
 * 2. one `ORDER BY modstamp DESC LIMIT 1` call gives the upper end;
 * 3. the range from the first page's last modstamp (rounded down to the second) to the upper end is cut into
 *    `count` slices read concurrently, each with its own prefetching locator; the first slice skips the ids the
 *    first page already returned.
 * Extra calls over a sequential read: one for the upper end, plus at most one partial page per slice, so the total
 * stays within ceil(N / pageSize) + count + 2. Records changed during the read get a modstamp past the upper end,
 * so none is returned twice; they are picked up by the next incremental read, as with a single locator.
 */

export interface SliceOptions {
  /** Concurrent slices (1 = no slicing). */
  count: number;
  /** Only slice when the result holds more than this many pages. */
  minPages: number;
}

const DEFAULTS: SliceOptions = { count: 6, minPages: 4 };

interface RawPage {
  totalSize?: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: Record<string, unknown>[];
}

/** The sliced reader for `request`, or undefined when slicing does not apply (ordered, limited or id queries). */
export function runSliced(ctx: QueryContext, compiled: CompiledQuery, request: QueryRequest, options: Partial<SliceOptions> = {}): AsyncIterable<RecordPage> | undefined {
  const opts = { ...DEFAULTS, ...options };
  if (opts.count <= 1 || request.ids || (request.orderBy?.length ?? 0) > 0 || request.limit !== undefined || compiled.statements.length !== 1) return undefined;
  return sliced(ctx, compiled, request, opts);
}

async function* sliced(ctx: QueryContext, compiled: CompiledQuery, request: QueryRequest, opts: SliceOptions): AsyncGenerator<RecordPage> {
  const map = recordMapper(compiled.columns, await ctx.objectByKeyPrefix());
  const stamp = compiled.modstamp.path;
  const select = (extra: string[], fields = compiled.columns.map((c) => c.path), orderBy?: 'asc' | 'desc', limit?: number): string =>
    compileSelect({
      object: compiled.meta.name,
      fields,
      where: [...compiled.where, ...extra],
      ...(orderBy ? { orderBy: [{ path: stamp, direction: orderBy }] } : {}),
      ...(limit !== undefined ? { limit } : {}),
    });
  const what = `query ${compiled.meta.name}`;
  const common = { endpoint: compiled.endpoint, what, ...(request.pageSize ? { pageSize: request.pageSize } : {}), ...(request.signal ? { signal: request.signal } : {}) };

  const ordered = streamSoql(ctx, select([], undefined, 'asc'), common);
  const firstResult = await ordered.next();
  if (firstResult.done) return;
  const first = firstResult.value as RawPage;
  const pageSize = clampPageSize(request.pageSize) ?? 2000;
  const total = first.totalSize ?? 0;
  yield { records: first.records.map(map), ...(first.totalSize !== undefined ? { totalSize: first.totalSize } : {}) };
  if (first.done || total <= pageSize * opts.minPages || first.records.length === 0) {
    // Small result: keep reading the same ordered locator.
    for await (const page of ordered) yield { records: (page as RawPage).records.map(map) };
    return;
  }
  await ordered.return(undefined);

  const stampOf = (record: Record<string, unknown>): number => Date.parse(normaliseDateTime(String(readStamp(record, stamp))));
  const lastStamp = stampOf(first.records[first.records.length - 1] as Record<string, unknown>);
  const from = Math.floor(lastStamp / 1000) * 1000;
  const seen = new Set(first.records.filter((r) => stampOf(r) >= from).map((r) => String(r.Id)));

  const top = parseJson(
    (
      await ctx.session.call({
        method: 'GET',
        path: `/services/data/v${ctx.apiVersion}/${compiled.endpoint}?q=${encodeURIComponent(select([], ['Id', stamp], 'desc', 1))}`,
        headers: { Accept: 'application/json' },
        idempotent: true,
        what,
        ...(request.signal ? { signal: request.signal } : {}),
      })
    ).body,
    what,
  ) as RawPage;
  const topRecord = top.records?.[0];
  const upper = topRecord ? Math.floor(stampOf(topRecord) / 1000) * 1000 + 1000 : from + 1000;

  const step = Math.max(1000, Math.ceil((upper - from) / opts.count / 1000) * 1000);
  const bounds: [number, number][] = [];
  for (let lo = from; lo < upper; lo += step) bounds.push([lo, Math.min(upper, lo + step)]);
  const iso = (ms: number): string => soqlDateTime(new Date(ms).toISOString());
  const streams = bounds.map(([lo, hi], i) => {
    const soql = select([`${stamp} >= ${iso(lo)}`, `${stamp} < ${iso(hi)}`]);
    return { iterator: streamSoql(ctx, soql, common), skip: i === 0 };
  });
  yield* merge(streams, (page, skip) => {
    const records = skip ? (page as RawPage).records.filter((r) => !seen.has(String(r.Id))) : (page as RawPage).records;
    return { records: records.map(map) };
  });
}

function readStamp(record: Record<string, unknown>, path: string): unknown {
  return path.split('.').reduce<unknown>((value, key) => (value && typeof value === 'object' ? (value as Record<string, unknown>)[key] : null), record);
}

/** Yields pages from several streams as they arrive; each stream has at most one page waiting. */
async function* merge<T>(
  streams: { iterator: AsyncGenerator<unknown>; skip: boolean }[],
  convert: (page: unknown, skip: boolean) => T,
): AsyncGenerator<T> {
  type Step = { index: number; result: IteratorResult<unknown> };
  const inFlight = new Map<number, Promise<Step>>();
  const pull = (index: number): void => {
    const stream = streams[index];
    if (stream) inFlight.set(index, stream.iterator.next().then((result) => ({ index, result })));
  };
  streams.forEach((_, i) => pull(i));
  try {
    while (inFlight.size > 0) {
      const { index, result } = await Promise.race(inFlight.values());
      inFlight.delete(index);
      if (result.done) continue;
      pull(index);
      yield convert(result.value, (streams[index] as { skip: boolean }).skip);
    }
  } finally {
    for (const pending of inFlight.values()) pending.catch(() => undefined);
    // Not awaited: a stream busy with a request finishes it (bounded by the request timeout) and then stops.
    for (const s of streams) s.iterator.return(undefined).catch(() => undefined);
  }
}
