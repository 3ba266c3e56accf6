import type { QueryRequest, RecordPage } from '../driver.js';
import { abortScope, mergeStreams } from '../page-streams.js';
import { parseJson } from './salesforce-http.js';
import {
  clampPageSize,
  keysetAfter,
  mapperFor,
  readRaw,
  streamSoql,
  type CompiledQuery,
  type Keyset,
  type QueryContext,
} from './salesforce-query.js';
import { compileSelect, soqlDateTime } from './salesforce-soql.js';
import { normaliseDateTime } from './salesforce-values.js';

/**
 * Parallel reading of a large unordered query. A query locator must be read in order, so parallelism comes from
 * independent queries over disjoint SystemModstamp ranges:
 * 1. the first `pageSize` records are read ordered by (modstamp, Id) with a LIMIT (the whole answer when fewer);
 * 2. when that chunk is full, a COUNT() (for totalSize) and an `ORDER BY modstamp DESC LIMIT 1` (the upper end) run
 *    concurrently;
 * 3. the range from the chunk's last record to the upper end is cut at whole seconds into `count` slices read
 *    concurrently, each with its own prefetching, resumable locator; the first slice starts right after that last
 *    record (keyset condition), so nothing comes twice.
 * Extra calls over a sequential read: the count and the upper end, plus at most one partial page per slice, so the total
 * stays within ceil(N / pageSize) + count + 3. Records changed during the read get a modstamp past the upper end,
 * so none is returned twice; they are picked up by the next incremental read, as with a single locator.
 */

export interface SliceOptions {
  /** Concurrent slices (1 = no slicing). */
  count: number;
}

const DEFAULTS: SliceOptions = { count: 6 };

interface RawPage {
  totalSize?: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: Record<string, unknown>[];
}

/** The sliced reader for `request`, or undefined when slicing does not apply (ordered, limited or id queries). */
export function runSliced(
  ctx: QueryContext,
  compiled: CompiledQuery,
  request: QueryRequest,
  options: Partial<SliceOptions> = {},
): AsyncIterable<RecordPage> | undefined {
  const opts = { ...DEFAULTS, ...options };
  if (opts.count <= 1 || !compiled.keyset || compiled.statements.length !== 1) return undefined;
  return sliced(ctx, compiled, compiled.keyset, request, opts);
}

async function* sliced(
  ctx: QueryContext,
  compiled: CompiledQuery,
  keyset: Keyset,
  request: QueryRequest,
  opts: SliceOptions,
): AsyncGenerator<RecordPage> {
  // Stops every slice's requests when the read ends early or one slice fails.
  const scope = abortScope(request.signal);
  try {
    yield* slicedPages(ctx, compiled, keyset, request, opts, scope.signal);
  } finally {
    scope.stop();
  }
}

async function* slicedPages(
  ctx: QueryContext,
  compiled: CompiledQuery,
  keyset: Keyset,
  request: QueryRequest,
  opts: SliceOptions,
  signal: AbortSignal,
): AsyncGenerator<RecordPage> {
  const map = await mapperFor(ctx, compiled.columns);
  const stamp = compiled.modstamp.path;
  const what = `query ${compiled.meta.name}`;
  const common = {
    endpoint: compiled.endpoint,
    what,
    signal,
    ...(request.pageSize ? { pageSize: request.pageSize } : {}),
  };
  // Every stream is keyset-ordered, so each can resume after its last record if its locator is lost.
  const stream = (extra: string[], limit?: number) =>
    streamSoql(ctx, keyset.select(extra, limit), {
      ...common,
      resume: (last) => keyset.select([...extra, keysetAfter(stamp, last)], limit),
    });
  const single = async (soql: string): Promise<RawPage> =>
    parseJson(
      (
        await ctx.session.call({
          method: 'GET',
          path: `/services/data/v${ctx.apiVersion}/${compiled.endpoint}?q=${encodeURIComponent(soql)}`,
          headers: { Accept: 'application/json' },
          idempotent: true,
          what,
          signal,
        })
      ).body,
      what,
    ) as RawPage;

  // The first page is a LIMITed query, so the server never materialises (or we never abandon) a big ordered cursor.
  const pageSize = clampPageSize(request.pageSize) ?? 2000;
  let last: Record<string, unknown> | undefined;
  let firstCount = 0;
  for await (const page of stream([], pageSize)) {
    const records = (page as RawPage).records;
    firstCount += records.length;
    if (records.length > 0) last = records[records.length - 1];
    if (firstCount < pageSize || !last) {
      yield { records: records.map(map) };
      continue;
    }
    // A full first chunk: more may follow. Count them (for progress) and find the newest modstamp, concurrently.
    const whereAll = compiled.where;
    const [counted, top] = await Promise.all([
      single(compileSelect({ object: compiled.meta.name, fields: ['COUNT()'], where: whereAll })),
      single(
        compileSelect({
          object: compiled.meta.name,
          fields: ['Id', stamp],
          where: whereAll,
          orderBy: [{ path: stamp, direction: 'desc' }],
          limit: 1,
        }),
      ),
    ]);
    yield {
      records: records.map(map),
      ...(typeof counted.totalSize === 'number' ? { totalSize: counted.totalSize } : {}),
    };
    const stampOf = (record: Record<string, unknown>): number =>
      Date.parse(normaliseDateTime(String(readRaw(record, stamp))));
    const lower = stampOf(last);
    const topRecord = top.records?.[0];
    // Whole seconds past the newest modstamp, so the last slice's `<` bound includes it.
    const upper = Math.floor((topRecord ? Math.max(stampOf(topRecord), lower) : lower) / 1000) * 1000 + 1000;
    // Inner boundaries on whole seconds; the first slice starts right after the first chunk's last record.
    const step = Math.max(1000, Math.ceil((upper - lower) / opts.count / 1000) * 1000);
    const cuts: number[] = [];
    for (let cut = Math.floor(lower / 1000) * 1000 + step; cut < upper; cut += step) cuts.push(cut);
    const iso = (ms: number): string => soqlDateTime(new Date(ms).toISOString());
    const edges = [undefined, ...cuts, upper];
    const after = last;
    const streams = edges.slice(0, -1).map((lo, i) => {
      const hi = edges[i + 1] as number;
      const from = lo === undefined ? keysetAfter(stamp, after) : `${stamp} >= ${iso(lo)}`;
      return stream([from, `${stamp} < ${iso(hi)}`]);
    });
    for await (const page of mergeStreams(streams)) yield { records: (page as RawPage).records.map(map) };
    return;
  }
}
