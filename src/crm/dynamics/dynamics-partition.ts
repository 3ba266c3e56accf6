/**
 * Parallel reading of a full scan. Dataverse pages can only be followed one after another (the nextLink carries
 * the paging cookie), so over a slow link a big read is bound by latency. A full scan is therefore split into
 * `createdon` windows read concurrently: `createdon` never changes after creation, so the windows are an exact,
 * stable partition (an update during the read cannot move a row between windows), and rows created meanwhile fall
 * into the last, open-ended window just as they would at the end of a single scan.
 *
 * Cost: two `$top=1` probes for the bounds plus at most one partial page per window, well within
 * ceil(N / pageSize) + 10 calls for the default of 4 windows.
 */
import type { QueryRequest } from '../driver.js';
import type { FilterExpr } from '../filter.js';
import type { ObjectMetadata } from '../metadata.js';
import type { DataverseClient } from './dynamics-client.js';
import { compileQuery } from './dynamics-odata.js';

export const PARTITION_FIELD = 'createdon';

/** Only unordered, unlimited full reads are split; incremental windows and id lists stay one stream. */
export function canPartition(meta: ObjectMetadata, request: QueryRequest, parallelism: number): boolean {
  return (
    parallelism > 1 &&
    !request.orderBy?.length &&
    request.limit === undefined &&
    request.ids === undefined &&
    !request.modifiedSince?.from &&
    meta.fields.some((f) => f.name === PARTITION_FIELD && f.type === 'datetime')
  );
}

function withFilter(request: QueryRequest, extra: FilterExpr): FilterExpr {
  return request.filter ? { kind: 'and', args: [request.filter, extra] } : extra;
}

/** The request of one bound probe: the earliest or latest createdon among the rows the request matches. */
function probe(meta: ObjectMetadata, request: QueryRequest, direction: 'asc' | 'desc', apiRootLength: number) {
  const [path] = compileQuery(
    meta,
    {
      object: request.object,
      fields: [PARTITION_FIELD],
      filter: withFilter(request, { kind: 'null', field: PARTITION_FIELD, negate: true }),
      ...(request.modifiedSince ? { modifiedSince: request.modifiedSince } : {}),
      orderBy: [{ field: PARTITION_FIELD, direction }],
      limit: 1,
    },
    apiRootLength,
  );
  return {
    method: 'GET' as const,
    path: path!,
    idempotent: true,
    what: `sizing the read of ${meta.name}`,
    ...(request.signal ? { signal: request.signal } : {}),
  };
}

/** The two probes a partitioned read opens with, exactly as it sends them (so that they can be sent early). */
export function probeRequests(meta: ObjectMetadata, request: QueryRequest, apiRootLength: number) {
  return [probe(meta, request, 'asc', apiRootLength), probe(meta, request, 'desc', apiRootLength)];
}

/** The earliest or latest createdon among the rows the request matches (one `$top=1` call). */
async function bound(
  client: DataverseClient,
  meta: ObjectMetadata,
  request: QueryRequest,
  direction: 'asc' | 'desc',
): Promise<number | undefined> {
  const { body } = await client.json(probe(meta, request, direction, client.apiRoot.length));
  const row = Array.isArray(body.value) ? (body.value[0] as Record<string, unknown> | undefined) : undefined;
  const value = row?.[PARTITION_FIELD];
  const time = typeof value === 'string' ? Date.parse(value) : Number.NaN;
  return Number.isNaN(time) ? undefined : time;
}

/**
 * The start URLs of the windows, or undefined when the rows span too little time to split (then one stream is
 * cheaper). Window i is `b[i] <= createdon < b[i+1]`; the first also takes rows without createdon.
 */
export async function partitionUrls(
  client: DataverseClient,
  meta: ObjectMetadata,
  request: QueryRequest,
  parallelism: number,
): Promise<string[] | undefined> {
  const [min, max] = await Promise.all([bound(client, meta, request, 'asc'), bound(client, meta, request, 'desc')]);
  if (min === undefined || max === undefined || max - min < parallelism * 1000) return undefined;
  const bounds: number[] = [];
  for (let i = 1; i < parallelism; i++) {
    const b = Math.floor((min + ((max - min) * i) / parallelism) / 1000) * 1000;
    if (b > (bounds.at(-1) ?? min)) bounds.push(b);
  }
  const at = (ms: number) => ({ datetime: new Date(ms).toISOString() });
  const windows: FilterExpr[] = [];
  windows.push({
    kind: 'or',
    args: [
      { kind: 'compare', field: PARTITION_FIELD, op: '<', value: at(bounds[0]!) },
      { kind: 'null', field: PARTITION_FIELD },
    ],
  });
  for (let i = 0; i < bounds.length; i++) {
    const lower: FilterExpr = { kind: 'compare', field: PARTITION_FIELD, op: '>=', value: at(bounds[i]!) };
    const next = bounds[i + 1];
    windows.push(
      next === undefined
        ? lower
        : { kind: 'and', args: [lower, { kind: 'compare', field: PARTITION_FIELD, op: '<', value: at(next) }] },
    );
  }
  return windows.flatMap((window) =>
    compileQuery(meta, { ...request, filter: withFilter(request, window) }, client.apiRoot.length),
  );
}
