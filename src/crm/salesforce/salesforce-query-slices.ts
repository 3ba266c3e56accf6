import type { QueryRequest, RecordPage } from '../driver.js';
import { abortScope, mergeStreams } from '../page-streams.js';
import type { ApiCall } from './salesforce-auth.js';
import {
  clampPageSize,
  getJson,
  keysetAfter,
  keysetBefore,
  mapperFor,
  queryHeaders,
  queryPath,
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
 * independent queries over disjoint parts of the (modstamp, Id) keyset order:
 * 1. one concurrent round: the oldest `pageSize` records (ordered by (modstamp, Id), LIMITed: the whole answer when
 *    fewer), the newest `pageSize` records (the reverse order, LIMITed) and a COUNT() (for totalSize);
 * 2. when the oldest chunk is full and the two chunks do not overlap, the records between them (after the oldest
 *    chunk's last record, before the newest chunk's last one, both keyset conditions) are cut at whole seconds of
 *    modstamp into up to `count` slices read concurrently, each with its own prefetching, resumable locator.
 * Every part is bounded by keyset conditions, so records sharing a modstamp at a boundary come exactly once.
 * Calls: the count, the two full chunks, and the slices' pages, of which at most one per slice is partial, so the
 * total stays within ceil(N / pageSize) + count (an answer within one page: three calls for a full read, one for
 * an incremental read, which asks for the newest chunk and the count only after a full oldest chunk). The slice count also
 * follows the COUNT(), so a small remainder does not cost a call per empty slice. A record changed during the read
 * gets a modstamp past the newest chunk, so it comes once at most (one changed between the two chunks' answers is
 * dropped from the newest); it is picked up by the next incremental read, as with a single locator.
 */

export interface SliceOptions {
  /** Concurrent slices (1 = no slicing). */
  count: number;
}

const DEFAULTS: SliceOptions = { count: 8 };

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
  const keyset = slicedKeyset(compiled, opts);
  return keyset ? sliced(ctx, compiled, keyset, request, opts) : undefined;
}

function slicedKeyset(compiled: CompiledQuery, opts: SliceOptions): Keyset | undefined {
  return opts.count > 1 && compiled.statements.length === 1 ? compiled.keyset : undefined;
}

/**
 * The requests the sliced reader opens `request` with, exactly as it makes them (so that they can be sent early,
 * see salesforce-early-reads.ts): the oldest chunk and, for a full read, the newest chunk and the count.
 */
export function openingRequests(
  ctx: QueryContext,
  compiled: CompiledQuery,
  request: QueryRequest,
  options: Partial<SliceOptions> = {},
): ApiCall[] {
  const keyset = slicedKeyset(compiled, { ...DEFAULTS, ...options });
  if (!keyset) return [];
  const pageSize = clampPageSize(request.pageSize) ?? 2000;
  const call = (soql: string, headers: Record<string, string>): ApiCall => ({
    method: 'GET',
    path: queryPath(ctx, compiled.endpoint, soql),
    headers,
    idempotent: true,
    what: `query ${compiled.meta.name}`,
    ...(request.signal ? { signal: request.signal } : {}),
  });
  const oldest = call(keyset.select([], pageSize), queryHeaders(request.pageSize));
  if (request.modifiedSince?.from) return [oldest];
  return [
    oldest,
    call(keyset.select([], pageSize, true), queryHeaders(request.pageSize)),
    call(countSoql(compiled), queryHeaders()),
  ];
}

function countSoql(compiled: CompiledQuery): string {
  return compileSelect({ object: compiled.meta.name, fields: ['COUNT()'], where: compiled.where });
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
  const stamp = compiled.modstamp.path;
  const what = `query ${compiled.meta.name}`;
  const common = {
    endpoint: compiled.endpoint,
    what,
    signal,
    ...(request.pageSize ? { pageSize: request.pageSize } : {}),
  };
  // Every stream is keyset-ordered, so each can resume after its last record if its locator is lost.
  const stream = (extra: string[], limit?: number, descending = false, prefetch = true) =>
    streamSoql(ctx, keyset.select(extra, limit, descending), {
      ...common,
      prefetch,
      resume: (last) =>
        keyset.select([...extra, descending ? keysetBefore(stamp, last) : keysetAfter(stamp, last)], limit, descending),
    }) as AsyncGenerator<RawPage>;
  const single = async (soql: string): Promise<RawPage> =>
    (await getJson(ctx, {
      method: 'GET',
      path: queryPath(ctx, compiled.endpoint, soql),
      headers: queryHeaders(),
      idempotent: true,
      what,
      signal,
    })) as RawPage;
  const handled = <T>(promise: Promise<T>): Promise<T> => {
    // Awaited only when needed (a small answer needs neither): an unused failure must not go unhandled.
    promise.catch(() => undefined);
    return promise;
  };

  // One round, concurrently: the oldest chunk (its first request goes out with the loop below), the newest chunk,
  // the count and, for polymorphic references only, the key prefixes. Each chunk is a LIMITed query, so the server
  // never materialises (and we never abandon) a big ordered cursor.
  // An incremental read (a modstamp lower bound) is usually small: it asks for the newest chunk and the count only
  // once its oldest chunk comes back full, so a read within one page stays one call. A full read asks all at once.
  const pageSize = clampPageSize(request.pageSize) ?? 2000;
  const mapping = handled(mapperFor(ctx, compiled.columns));
  let newestAsked: Promise<Record<string, unknown>[]> | undefined;
  let countAsked: Promise<RawPage> | undefined;
  const newestChunk = () => (newestAsked ??= handled(readAll(stream([], pageSize, true))));
  const counted = () => (countAsked ??= handled(single(countSoql(compiled))));
  const eager = !request.modifiedSince?.from;
  if (eager) {
    void newestChunk();
    void counted();
  }

  let totalReported = false;
  /** totalSize goes on the first page handed out: exact for an answer within one page, else the COUNT(). */
  const total = async (page?: RawPage, whole?: number): Promise<{ totalSize?: number }> => {
    if (totalReported) return {};
    totalReported = true;
    if (page?.done && whole !== undefined && whole < pageSize) return { totalSize: whole };
    const size = (await counted()).totalSize;
    return typeof size === 'number' ? { totalSize: size } : {};
  };

  const oldestIds = new Set<string>();
  let oldestCount = 0;
  let oldestLast: Record<string, unknown> | undefined;
  for await (const page of stream([], pageSize)) {
    const map = await mapping;
    const records = page.records;
    oldestCount += records.length;
    for (const r of records) oldestIds.add(String(r.Id));
    if (records.length > 0) oldestLast = records[records.length - 1];
    if (oldestCount < pageSize || !oldestLast) {
      yield { records: records.map(map), ...(await total(page, oldestCount)) };
      continue;
    }
    // A full oldest chunk: more may follow. A full read has the newest chunk and the count in flight since the
    // first round: the slices' first requests go out before this chunk is handed on (its writing overlaps them).
    // An incremental read asks for them only now, and hands this chunk on while they come.
    void newestChunk();
    void counted();
    const after = oldestLast;
    let rest: AsyncIterableIterator<RawPage> | undefined;
    try {
      if (eager) {
        rest = await remainder(after);
        yield { records: records.map(map), ...(await total()) };
      } else {
        yield { records: records.map(map) };
        rest = await remainder(after);
      }
      for await (const page of rest) yield { records: page.records.map(map) };
    } finally {
      await rest?.return?.();
    }
    return;
  }

  /** What follows the oldest chunk (ending with `after`): the rest of the newest chunk, then the slices between. */
  async function remainder(after: Record<string, unknown>): Promise<AsyncIterableIterator<RawPage>> {
    const newestAll = await newestChunk();
    // A record changed since the oldest chunk was read may come again, newer: it is dropped from the newest chunk.
    const newest = { done: false, records: newestAll.filter((r) => !oldestIds.has(String(r.Id))) };
    const newestEnd = newestAll[newestAll.length - 1];
    // The chunks overlap when the newest one holds the oldest chunk's last record, unchanged: they hold it all.
    const lastStamp = readRaw(after, stamp);
    if (!newestEnd || newestAll.some((r) => r.Id === after.Id && readRaw(r, stamp) === lastStamp))
      return pagesOf(newest.records.length > 0 ? [newest] : []);
    const size = (await counted()).totalSize;
    const between = typeof size === 'number' ? size - oldestCount - newest.records.length : Number.POSITIVE_INFINITY;
    const count = Math.max(1, Math.min(opts.count, Math.ceil(between / pageSize)));
    const bounds = [keysetAfter(stamp, after), keysetBefore(stamp, newestEnd)];
    // No prefetch within a slice: the merge asks each slice for its next page as soon as one arrives (while few wait
    // for the consumer), which keeps a request in flight per slice without a second page per slice waiting in memory
    // (where pages outlive young-generation collections and pile up as old garbage).
    const slices = sliceRanges(stamp, after, newestEnd, count).map((range) =>
      stream([...bounds, ...range], undefined, false, false),
    );
    return started(mergeStreams(newest.records.length > 0 ? [pagesOf([newest]), ...slices] : slices));
  }
}

/**
 * `pages` with its first page already asked for (the merge then asks every source at once), so that requests go
 * out now rather than when the caller comes to read it. Closing it closes `pages`, read or not.
 */
function started<T>(pages: AsyncGenerator<T>): AsyncIterableIterator<T> {
  let first: Promise<IteratorResult<T>> | undefined = pages.next();
  first.catch(() => undefined); // a caller that stops before reading must not leave the failure unhandled
  return {
    next: () => {
      const pending = first ?? pages.next();
      first = undefined;
      return pending;
    },
    return: (value?: unknown) => {
      first = undefined;
      return pages.return(value as T);
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  };
}

async function* pagesOf(pages: RawPage[]): AsyncGenerator<RawPage> {
  yield* pages;
}

/** Reads a (LIMITed) stream to its end. */
async function readAll(pages: AsyncIterable<RawPage>): Promise<Record<string, unknown>[]> {
  const records: Record<string, unknown>[] = [];
  for await (const page of pages) records.push(...page.records);
  return records;
}

/**
 * Modstamp conditions cutting the range from `from`'s modstamp to `to`'s into at most `count` slices at whole
 * seconds (assuming modstamps spread evenly over it); the caller bounds them by the keyset conditions of both ends.
 */
function sliceRanges(
  stamp: string,
  from: Record<string, unknown>,
  to: Record<string, unknown>,
  count: number,
): string[][] {
  const stampOf = (record: Record<string, unknown>): number =>
    Date.parse(normaliseDateTime(String(readRaw(record, stamp))));
  const lower = Math.floor(stampOf(from) / 1000) * 1000;
  const upper = Math.max(lower, Math.ceil(stampOf(to) / 1000) * 1000);
  // lower + count * step >= upper, so there are at most count - 1 cuts, all strictly inside (lower, upper).
  const step = Math.max(1000, Math.ceil((upper - lower) / count / 1000) * 1000);
  const cuts: number[] = [];
  for (let cut = lower + step; cut < upper; cut += step) cuts.push(cut);
  const iso = (ms: number): string => soqlDateTime(new Date(ms).toISOString());
  const edges = [undefined, ...cuts, undefined];
  return edges.slice(0, -1).map((lo, i) => {
    const hi = edges[i + 1];
    return [
      ...(lo === undefined ? [] : [`${stamp} >= ${iso(lo)}`]),
      ...(hi === undefined ? [] : [`${stamp} < ${iso(hi)}`]),
    ];
  });
}
