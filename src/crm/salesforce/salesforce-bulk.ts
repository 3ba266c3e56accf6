import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline as pipe, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parse } from 'csv-parse';
import { stringify } from 'csv-stringify/sync';
import { LiaisonError } from '../../core/errors.js';
import type { WriteItem, WriteOutcome, WriteRequest } from '../driver.js';
import { sleep } from '../http/retry.js';
import type { ObjectMetadata } from '../metadata.js';
import { PendingRefs } from './salesforce-bulk-pending.js';
import { findField } from './salesforce-describe.js';
import type { QueryContext } from './salesforce-query.js';
import { checkId } from './salesforce-soql.js';
import { toCsvCell } from './salesforce-values.js';

/**
 * bulkWrite through Bulk API 2.0 ingest jobs: create the job, stream the CSV (csv-stringify, one row at a time, a
 * new job whenever the upload would pass `maxJobBytes` or the columns change) through a temp file into the upload,
 * close it, poll with backoff, then stream the three result CSVs (csv-parse) into outcomes.
 *
 * Correlation: Bulk 2.0 result rows are not in input order and may carry no column of ours, so each uploaded row is
 * remembered by a hash of its key cells — the `Id` for update/delete, the external id for upsert, and the whole row
 * for insert — and the result rows, which echo the uploaded cells, are matched back by the same hash. Identical
 * insert rows are interchangeable, so they take refs first-in first-out. Past 200,000 rows the pending refs go to a
 * scratch file (salesforce-bulk-pending.ts), so memory stays flat whatever the job's size.
 * `useAssignmentRules` has no Bulk 2.0 equivalent without an assignment rule id, so it is ignored here.
 */

export interface BulkOptions {
  pollInitialMs: number;
  pollMaxMs: number;
  /** Upload size per job; Salesforce allows 150 MB, we split at 100 MB. */
  maxJobBytes: number;
  /** Gives up waiting on a job after this long (the job keeps running in Salesforce). */
  maxWaitMs: number;
  /** Rows of a job whose pending refs stay in memory; beyond, they go to a scratch file (see PendingRefs). */
  spillRefsAt: number;
}

const DEFAULTS: BulkOptions = {
  pollInitialMs: 250,
  pollMaxMs: 10_000,
  maxJobBytes: 100 * 1024 * 1024,
  maxWaitMs: 6 * 3_600_000,
  spillRefsAt: 200_000,
};

interface JobInfo {
  id: string;
  state: string;
  contentUrl?: string;
  errorMessage?: string;
}

function asJob(value: unknown, what: string): JobInfo {
  const job = value as Partial<JobInfo> | null;
  if (!job || typeof job.id !== 'string' || typeof job.state !== 'string')
    throw new LiaisonError('crm_error', `${what}: Salesforce answered without a job id/state`);
  return job as JobInfo;
}

/** `CODE:message:Field1,Field2 --` → parts (the message itself may hold colons). */
export function parseBulkError(text: string): { code: string; message: string; fields?: string[] } {
  const body = text.replace(/\s*--\s*$/, '');
  const first = body.indexOf(':');
  if (first < 0) return { code: body || 'UNKNOWN_ERROR', message: body };
  const code = body.slice(0, first);
  let message = body.slice(first + 1);
  const last = message.lastIndexOf(':');
  if (last >= 0 && /^[A-Za-z0-9_.]+(,[A-Za-z0-9_.]+)*$/.test(message.slice(last + 1).trim())) {
    const fields = message
      .slice(last + 1)
      .trim()
      .split(',');
    message = message.slice(0, last);
    return { code, message, fields };
  }
  if (message.endsWith(':')) message = message.slice(0, -1);
  return { code, message };
}

/** Hash of a row's key cells; `#N/A` (null) counts as empty, since a server may echo either for a nulled field. */
function rowKey(cells: string[]): string {
  return createHash('sha1')
    .update(JSON.stringify(cells.map((c) => (c === '#N/A' ? '' : c))))
    .digest('base64');
}

/** The CSV columns for an item (Id first for update/delete); canonical names from the describe. */
function columnsOf(meta: ObjectMetadata, request: WriteRequest, item: WriteItem): string[] {
  if (request.operation === 'delete') return ['Id'];
  const names = Object.keys(item.values)
    .filter((k) => item.values[k] !== undefined)
    .map((k) => {
      const field = findField(meta, k);
      if (!field)
        throw new LiaisonError('field_not_found', `${meta.name} has no field "${k}"; check the field mapping`);
      return field.name;
    })
    .filter((n) => n !== 'Id');
  return request.operation === 'update' ? ['Id', ...names] : names;
}

export async function* bulkWrite(
  ctx: QueryContext,
  request: WriteRequest,
  items: AsyncIterable<WriteItem>,
  options: Partial<BulkOptions> = {},
): AsyncGenerator<WriteOutcome> {
  const opts = { ...DEFAULTS, ...options };
  const meta = await ctx.describe(request.object);
  let externalField: string | undefined;
  if (request.operation === 'upsert') {
    const field = request.externalIdField ? findField(meta, request.externalIdField) : undefined;
    if (!field)
      throw new LiaisonError('invalid_input', `upsert on ${meta.name} needs externalIdField naming an existing field`);
    externalField = field.name;
  }
  const iterator = items[Symbol.asyncIterator]();
  let carried: WriteItem | undefined;
  const next = async (): Promise<WriteItem | undefined> => {
    if (carried) {
      const item = carried;
      carried = undefined;
      return item;
    }
    const r = await iterator.next();
    return r.done ? undefined : r.value;
  };
  const local: WriteOutcome[] = [];
  const needsId = request.operation === 'update' || request.operation === 'delete';
  for (;;) {
    // The first usable item of the next job fixes its columns.
    let first: WriteItem | undefined;
    while ((first = await next())) {
      if (!needsId || first.id) break;
      local.push({
        ref: first.ref,
        ok: false,
        code: 'MISSING_ID',
        message: `${request.operation} needs the record id`,
        fields: ['Id'],
      });
    }
    yield* local.splice(0);
    if (!first) return;
    const columns = columnsOf(meta, request, first);
    if (externalField && !columns.includes(externalField)) columns.unshift(externalField);
    const keyIndexes =
      request.operation === 'insert'
        ? columns.map((_, i) => i)
        : [columns.indexOf(needsId ? 'Id' : (externalField as string))];
    carried = first;
    yield* runJob(
      ctx,
      meta,
      request,
      columns,
      keyIndexes,
      opts,
      next,
      (item) => (carried = item),
      local,
      externalField,
    );
    yield* local.splice(0);
  }
}

async function* runJob(
  ctx: QueryContext,
  meta: ObjectMetadata,
  request: WriteRequest,
  columns: string[],
  keyIndexes: number[],
  opts: BulkOptions,
  next: () => Promise<WriteItem | undefined>,
  carry: (item: WriteItem) => void,
  local: WriteOutcome[],
  externalField: string | undefined,
): AsyncGenerator<WriteOutcome> {
  const base = `/services/data/v${ctx.apiVersion}/jobs/ingest`;
  const signal = request.signal ? { signal: request.signal } : {};
  const json = { 'Content-Type': 'application/json', Accept: 'application/json' };
  const pending = new PendingRefs(opts.spillRefsAt);
  try {
    const columnSet = new Set(columns.map((c) => c.toLowerCase()));
    async function* csv(): AsyncGenerator<string> {
      const header = stringify([columns]);
      let bytes = Buffer.byteLength(header);
      yield header;
      let item: WriteItem | undefined;
      let rows = 0;
      while ((item = await next())) {
        if ((request.operation === 'update' || request.operation === 'delete') && !item.id) {
          local.push({
            ref: item.ref,
            ok: false,
            code: 'MISSING_ID',
            message: `${request.operation} needs the record id`,
            fields: ['Id'],
          });
          continue;
        }
        const keys =
          request.operation === 'delete'
            ? []
            : Object.keys(item.values).filter((k) => item?.values[k] !== undefined && k.toLowerCase() !== 'id');
        if (keys.some((k) => !columnSet.has(k.toLowerCase()))) {
          carry(item); // other columns: it starts the next job
          return;
        }
        const lower = new Map(Object.entries(item.values).map(([k, v]) => [k.toLowerCase(), v]));
        const cells = columns.map((c) =>
          c === 'Id' ? checkId(item?.id ?? '') : toCsvCell(lower.get(c.toLowerCase())),
        );
        const line = stringify([cells]);
        const size = Buffer.byteLength(line);
        if (rows > 0 && bytes + size > opts.maxJobBytes) {
          carry(item);
          return;
        }
        bytes += size;
        rows++;
        pending.add(rowKey(keyIndexes.map((i) => cells[i] as string)), item.ref);
        yield line;
      }
    }
    // The CSV is spooled to a temp file first (streamed, memory stays flat): the job is then opened only once its data
    // is ready, and the upload can be replayed if the session expires, although the caller's items are read once.
    const spool = await mkdtemp(join(tmpdir(), 'liaison-bulk-'));
    let job: JobInfo;
    try {
      const file = join(spool, 'data.csv');
      await pipeline(Readable.from(csv()), createWriteStream(file));
      job = asJob(
        await ctx.session.json({
          method: 'POST',
          path: `${base}/`,
          headers: json,
          body: JSON.stringify({
            object: meta.name,
            operation: request.operation,
            contentType: 'CSV',
            lineEnding: 'LF',
            columnDelimiter: 'COMMA',
            ...(externalField ? { externalIdFieldName: externalField } : {}),
          }),
          idempotent: false,
          what: `create bulk ${request.operation} job on ${meta.name}`,
          ...signal,
        }),
        'create bulk job',
      );
      const opened = job;
      await ctx.session
        .call({
          method: 'PUT',
          path: opened.contentUrl ?? `${base}/${opened.id}/batches`,
          headers: { 'Content-Type': 'text/csv', Accept: 'application/json' },
          body: () => createReadStream(file),
          idempotent: false,
          what: `upload bulk data for job ${opened.id}`,
          ...signal,
        })
        .catch(async (error: unknown) => {
          // Do not leave an open job behind (Salesforce would keep it for a day); the upload error is what matters.
          await ctx.session
            .call({
              method: 'PATCH',
              path: `${base}/${opened.id}/`,
              headers: json,
              body: JSON.stringify({ state: 'Aborted' }),
              idempotent: false,
              what: `abort bulk job ${opened.id}`,
            })
            .catch(() => undefined);
          throw error;
        });
    } finally {
      await rm(spool, { recursive: true, force: true });
    }
    await ctx.session.call({
      method: 'PATCH',
      path: `${base}/${job.id}/`,
      headers: json,
      body: JSON.stringify({ state: 'UploadComplete' }),
      idempotent: false,
      what: `close bulk job ${job.id}`,
      ...signal,
    });
    const final = await waitForJob(ctx, `${base}/${job.id}/`, opts, request.signal);
    for (const [kind, path] of [
      ['ok', 'successfulResults/'],
      ['failed', 'failedResults/'],
      ['unprocessed', 'unprocessedrecords/'],
    ] as const) {
      yield* readResults(ctx, `${base}/${job.id}/${path}`, kind, columns, keyIndexes, pending, request.signal);
    }
    const reason =
      final.state === 'JobComplete'
        ? 'no result row came back for this record'
        : `bulk job ${job.id} ended ${final.state}${final.errorMessage ? `: ${final.errorMessage}` : ''}`;
    for (const ref of pending.drain()) yield { ref, ok: false, code: 'NOT_PROCESSED', message: reason };
  } finally {
    // The scratch file of a large job goes as the job ends, however it ends.
    pending.close();
  }
}

async function waitForJob(ctx: QueryContext, path: string, opts: BulkOptions, signal?: AbortSignal): Promise<JobInfo> {
  const started = Date.now();
  let delay = opts.pollInitialMs;
  for (;;) {
    const job = asJob(
      await ctx.session.json({
        method: 'GET',
        path,
        headers: { Accept: 'application/json' },
        idempotent: true,
        what: 'poll bulk job',
        ...(signal ? { signal } : {}),
      }),
      'poll bulk job',
    );
    if (job.state === 'JobComplete' || job.state === 'Failed' || job.state === 'Aborted') return job;
    if (Date.now() - started > opts.maxWaitMs) {
      throw new LiaisonError(
        'timeout',
        `bulk job ${job.id} still ${job.state} after ${Math.round(opts.maxWaitMs / 1000)} s; it keeps running in Salesforce`,
      );
    }
    await sleep(delay, signal);
    delay = Math.min(opts.pollMaxMs, Math.round(delay * 1.5));
  }
}

async function* readResults(
  ctx: QueryContext,
  path: string,
  kind: 'ok' | 'failed' | 'unprocessed',
  columns: string[],
  keyIndexes: number[],
  pending: PendingRefs,
  signal?: AbortSignal,
): AsyncGenerator<WriteOutcome> {
  const answer = await ctx.session.callStream({
    method: 'GET',
    path,
    headers: { Accept: 'text/csv' },
    idempotent: true,
    what: `bulk ${kind} results`,
    ...(signal ? { signal } : {}),
  });
  const parser = parse({ bom: true, relax_column_count: true });
  // pipeline (not pipe) so a download cut or timed out mid-body fails the parser instead of leaving it waiting.
  pipe(answer.stream, parser, () => undefined);
  let index: number[] | undefined;
  let meta: { id: number; flag: number } = { id: -1, flag: -1 };
  for await (const row of parser as AsyncIterable<string[]>) {
    if (!index) {
      const lower = row.map((h) => h.toLowerCase());
      index = keyIndexes.map((i) => lower.indexOf((columns[i] as string).toLowerCase()));
      meta = { id: lower.indexOf('sf__id'), flag: lower.indexOf(kind === 'ok' ? 'sf__created' : 'sf__error') };
      continue;
    }
    const ref = pending.take(rowKey(index.map((i) => (i >= 0 ? (row[i] ?? '') : ''))));
    if (ref === undefined) continue; // a row we did not send (or already matched): nothing to report
    if (kind === 'ok') {
      yield { ref, ok: true, id: row[meta.id] ?? '', created: row[meta.flag] === 'true' };
    } else if (kind === 'failed') {
      const error = parseBulkError(row[meta.flag] ?? '');
      yield {
        ref,
        ok: false,
        code: error.code,
        message: error.message,
        ...(error.fields ? { fields: error.fields } : {}),
      };
    } else {
      yield {
        ref,
        ok: false,
        code: 'UNPROCESSED',
        message: 'Salesforce did not process this record (the job stopped before it)',
      };
    }
  }
}
