import { parse } from 'csv-parse/sync';
import { jsonReply, type Reply, type RequestContext, type Route } from './http-server.js';
import { toCsvText, toWireDateTime } from './record-values.js';
import { apiRoute, asObject, type SfContext } from './sandbox-context.js';
import { makeId } from './salesforce-ids.js';
import { SfApiError } from './schema-types.js';
import type { Cursor } from './query-cursors.js';

/**
 * Bulk API 2.0: ingest jobs (CSV upload, asynchronous processing in chunks so the server stays responsive,
 * successful/failed/unprocessed result CSVs) and query jobs (a server-side cursor read as CSV pages with
 * Sforce-Locator / Sforce-NumberOfRecords).
 */
const DELIMITERS: Record<string, string> = {
  COMMA: ',',
  BACKQUOTE: '`',
  CARET: '^',
  PIPE: '|',
  SEMICOLON: ';',
  TAB: '\t',
};
const OPERATIONS = new Set(['insert', 'update', 'upsert', 'delete', 'hardDelete']);
const CHUNK = 1000;
const DEFAULT_QUERY_PAGE = 10_000;
const MAX_JOBS = 100;

interface Job {
  id: string;
  kind: 'ingest' | 'query';
  info: Record<string, unknown>;
  version: string;
  uploads: Buffer[];
  header: string[];
  successful: string[];
  failed: string[];
  unprocessed: string[][];
  cursor?: Cursor;
  started: number;
}

const quote = (v: string) => `"${v.replace(/"/g, '""')}"`;
const csvLine = (cells: string[], delimiter = ',') => cells.map(quote).join(delimiter);

function errorText(error: unknown): string {
  if (error instanceof SfApiError) return `${error.errorCode}:${error.message}:${error.fields.join(',')} --`;
  return `UNKNOWN_EXCEPTION:${String(error)}: --`;
}

export function bulkRoutes(sf: SfContext): { routes: Route[]; stop(): void } {
  const jobs = new Map<string, Job>();
  const timers = new Set<NodeJS.Immediate | NodeJS.Timeout>();
  let nextJob = 1;
  let stopped = false;

  const later = (fn: () => void, ms = 0) => {
    if (stopped) return;
    const run = () => {
      timers.delete(handle);
      if (!stopped) fn();
    };
    const handle = ms > 0 ? setTimeout(run, ms) : setImmediate(run);
    timers.add(handle);
  };

  const touch = (job: Job, changes: Record<string, unknown>) => {
    Object.assign(job.info, changes, { systemModstamp: toWireDateTime(sf.clock()) });
  };

  const jobOf = (ctx: RequestContext, kind: Job['kind']): Job => {
    const job = jobs.get(ctx.params[0] as string);
    if (!job || job.kind !== kind) throw new SfApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    return job;
  };

  const newJob = (kind: Job['kind'], version: string, fields: Record<string, unknown>): Job => {
    // Salesforce deletes finished jobs after 7 days; here the oldest finished ones go once too many are kept,
    // since their result rows live in memory.
    if (jobs.size >= MAX_JOBS) {
      const finished = [...jobs.values()].find((j) =>
        ['JobComplete', 'Failed', 'Aborted'].includes(String(j.info.state)),
      );
      if (finished) {
        if (finished.cursor) sf.cursors.drop(finished.cursor.locator);
        jobs.delete(finished.id);
      }
    }
    const id = makeId('750', nextJob++);
    const now = toWireDateTime(sf.clock());
    const job: Job = {
      id,
      kind,
      version,
      uploads: [],
      header: [],
      successful: [],
      failed: [],
      unprocessed: [],
      started: Date.now(),
      info: {
        id,
        ...fields,
        createdById: sf.store.userId,
        createdDate: now,
        systemModstamp: now,
        concurrencyMode: 'Parallel',
        contentType: 'CSV',
        apiVersion: Number(version),
        jobType: kind === 'ingest' ? 'V2Ingest' : 'V2Query',
        numberRecordsProcessed: 0,
        ...(kind === 'ingest' ? { numberRecordsFailed: 0 } : {}),
        retries: 0,
        totalProcessingTime: 0,
      },
    };
    jobs.set(id, job);
    return job;
  };

  /** Applies one CSV row; returns the result line (success or failure). */
  const applyRow = (job: Job, cells: string[]): void => {
    const object = String(job.info.object);
    const operation = String(job.info.operation);
    const values: Record<string, unknown> = {};
    job.header.forEach((column, i) => {
      const cell = cells[i] ?? '';
      if (cell === '#N/A') values[column] = null;
      else if (cell !== '') values[column] = cell;
    });
    const idValue = Object.entries(values).find(([k]) => k.toLowerCase() === 'id')?.[1];
    try {
      let id: string;
      let created = false;
      if (operation === 'insert') {
        id = sf.store.insert(object, values);
        created = true;
      } else if (operation === 'update') {
        if (typeof idValue !== 'string')
          throw new SfApiError(400, 'MISSING_ARGUMENT', 'Id not specified in an update call', ['Id']);
        const { Id: _i, id: _j, ...rest } = values;
        id = sf.store.update(object, idValue, rest);
      } else if (operation === 'upsert') {
        const ext = String(job.info.externalIdFieldName);
        const value = Object.entries(values).find(([k]) => k.toLowerCase() === ext.toLowerCase())?.[1];
        if (value === undefined || value === null)
          throw new SfApiError(400, 'MISSING_ARGUMENT', `${ext} not specified`, [ext]);
        ({ id, created } = sf.store.upsert(object, ext, String(value), values));
      } else {
        if (typeof idValue !== 'string')
          throw new SfApiError(400, 'MISSING_ARGUMENT', 'Id not specified in a delete call', ['Id']);
        id = sf.store.delete(object, idValue, { hard: operation === 'hardDelete' });
      }
      job.successful.push(csvLine([id, String(created), ...cells]));
    } catch (error) {
      job.failed.push(csvLine([operation === 'insert' ? '' : String(idValue ?? ''), errorText(error), ...cells]));
    }
  };

  const processIngest = (job: Job) => {
    const started = Date.now();
    let rows: string[][];
    try {
      const text = Buffer.concat(job.uploads).toString('utf8');
      rows = parse(text, {
        delimiter: DELIMITERS[String(job.info.columnDelimiter)] ?? ',',
        relax_column_count: true,
        skip_empty_lines: true,
        bom: true,
      }) as string[][];
      job.header = rows.shift() ?? [];
      const object = sf.store.object(String(job.info.object));
      const unknown = job.header.find((column) => !object.byName.has(column.toLowerCase()));
      if (unknown) throw new Error(`InvalidBatch : Field name not found : ${unknown}`);
      if (
        (job.info.operation === 'delete' || job.info.operation === 'hardDelete') &&
        (job.header.length !== 1 || job.header[0]?.toLowerCase() !== 'id')
      ) {
        throw new Error('InvalidBatch : The ID field must be the only column for a delete job');
      }
    } catch (error) {
      touch(job, { state: 'Failed', errorMessage: error instanceof Error ? error.message : String(error) });
      return;
    }
    touch(job, { state: 'InProgress' });
    let next = 0;
    const step = () => {
      if (job.info.state === 'Aborted') {
        job.unprocessed.push(...rows.slice(next));
        return;
      }
      const end = Math.min(next + CHUNK, rows.length);
      sf.store.db.transaction(() => {
        for (let i = next; i < end; i++) applyRow(job, rows[i] as string[]);
      })();
      next = end;
      touch(job, {
        numberRecordsProcessed: job.successful.length + job.failed.length,
        numberRecordsFailed: job.failed.length,
        totalProcessingTime: Date.now() - started,
        apiActiveProcessingTime: Date.now() - started,
      });
      if (next < rows.length) later(step);
      else touch(job, { state: 'JobComplete' });
    };
    later(step);
  };

  const csvReply = (header: string[], lines: string[], delimiter = ',', eol = '\n'): Reply => ({
    status: 200,
    contentType: 'text/csv',
    body: [csvLine(header, delimiter), ...lines].join(eol) + eol,
  });

  const resultColumns = (job: Job) => job.header;

  const ingest: Route[] = [
    apiRoute('POST', 'bulk', '/jobs/ingest', async (ctx) => {
      const body = asObject(await ctx.json());
      const object = sf.store.object(String(body.object ?? ''), 400);
      const operation = String(body.operation ?? '');
      if (!OPERATIONS.has(operation)) throw new SfApiError(400, 'INVALIDJOB', `Invalid operation: ${operation}`);
      if (
        operation === 'upsert' &&
        !object.byName.get(String(body.externalIdFieldName ?? '').toLowerCase())?.externalId &&
        String(body.externalIdFieldName ?? '').toLowerCase() !== 'id'
      ) {
        throw new SfApiError(
          400,
          'INVALIDJOB',
          `InvalidJob : External ID was blank or not an External ID field for ${object.name}: ${String(body.externalIdFieldName ?? '')}`,
        );
      }
      const columnDelimiter = String(body.columnDelimiter ?? 'COMMA');
      if (!(columnDelimiter in DELIMITERS))
        throw new SfApiError(400, 'INVALIDJOB', `Invalid columnDelimiter: ${columnDelimiter}`);
      const job = newJob('ingest', ctx.version, {
        operation,
        object: object.name,
        ...(operation === 'upsert' ? { externalIdFieldName: body.externalIdFieldName } : {}),
        state: 'Open',
        lineEnding: body.lineEnding === 'CRLF' ? 'CRLF' : 'LF',
        columnDelimiter,
      });
      job.info.contentUrl = `services/data/v${ctx.version}/jobs/ingest/${job.id}/batches`;
      return jsonReply(200, job.info);
    }),
    apiRoute('PUT', 'bulk', '/jobs/ingest/([^/]+)/batches', async (ctx) => {
      const job = jobOf(ctx, 'ingest');
      if (job.info.state !== 'Open')
        throw new SfApiError(409, 'INVALIDJOBSTATE', `Job is not open: ${String(job.info.state)}`);
      job.uploads.push(await ctx.body());
      return { status: 201 };
    }),
    apiRoute('PATCH', 'bulk', '/jobs/ingest/([^/]+)', async (ctx) => {
      const job = jobOf(ctx, 'ingest');
      const state = String(asObject(await ctx.json()).state ?? '');
      if (state === 'UploadComplete' && job.info.state === 'Open') {
        touch(job, { state: 'UploadComplete' });
        later(() => processIngest(job), 20);
      } else if (state === 'Aborted' && ['Open', 'UploadComplete', 'InProgress'].includes(String(job.info.state))) {
        touch(job, { state: 'Aborted' });
      } else {
        throw new SfApiError(
          400,
          'INVALIDJOBSTATE',
          `Cannot change the state of job ${job.id} from ${String(job.info.state)} to ${state}`,
        );
      }
      return jsonReply(200, job.info);
    }),
    apiRoute('GET', 'bulk', '/jobs/ingest/([^/]+)', (ctx) => jsonReply(200, jobOf(ctx, 'ingest').info)),
    apiRoute('DELETE', 'bulk', '/jobs/ingest/([^/]+)', (ctx) => {
      jobs.delete(jobOf(ctx, 'ingest').id);
      return { status: 204 };
    }),
    apiRoute('GET', 'bulk', '/jobs/ingest/([^/]+)/successfulResults', (ctx) => {
      const job = jobOf(ctx, 'ingest');
      return csvReply(['sf__Id', 'sf__Created', ...resultColumns(job)], job.successful);
    }),
    apiRoute('GET', 'bulk', '/jobs/ingest/([^/]+)/failedResults', (ctx) => {
      const job = jobOf(ctx, 'ingest');
      return csvReply(['sf__Id', 'sf__Error', ...resultColumns(job)], job.failed);
    }),
    apiRoute('GET', 'bulk', '/jobs/ingest/([^/]+)/(?:unprocessedrecords|unprocessedRecords)', (ctx) => {
      const job = jobOf(ctx, 'ingest');
      return csvReply(
        resultColumns(job),
        job.unprocessed.map((cells) => csvLine(cells)),
      );
    }),
  ];

  const query: Route[] = [
    apiRoute('POST', 'bulk', '/jobs/query', async (ctx) => {
      const body = asObject(await ctx.json());
      const operation = String(body.operation ?? 'query');
      if (operation !== 'query' && operation !== 'queryAll')
        throw new SfApiError(400, 'INVALIDJOB', `Invalid operation: ${operation}`);
      const columnDelimiter = String(body.columnDelimiter ?? 'COMMA');
      if (!(columnDelimiter in DELIMITERS))
        throw new SfApiError(400, 'INVALIDJOB', `Invalid columnDelimiter: ${columnDelimiter}`);
      const compiled = sf.cursors.compile(String(body.query ?? ''), ctx.version, operation === 'queryAll');
      if (compiled.count)
        throw new SfApiError(
          400,
          'INVALIDJOB',
          'InvalidJob : COUNT() queries are not supported by Bulk API 2.0 query jobs',
        );
      if (compiled.hasSubqueries) {
        throw new SfApiError(
          400,
          'INVALIDJOB',
          'InvalidJob : Bulk API 2.0 query jobs do not support relationship subqueries',
        );
      }
      const compound = compiled.csvFields.find((f) => f !== undefined && !f.stored);
      if (compound)
        throw new SfApiError(
          400,
          'INVALIDJOB',
          `InvalidJob : Selecting compound data not supported in Bulk Query: ${compound.name}`,
        );
      const job = newJob('query', ctx.version, {
        operation,
        object: compiled.object.name,
        state: 'UploadComplete',
        lineEnding: body.lineEnding === 'CRLF' ? 'CRLF' : 'LF',
        columnDelimiter,
        query: body.query,
      });
      job.cursor = sf.cursors.open(compiled, ctx.version, DEFAULT_QUERY_PAGE);
      later(() => {
        if (job.info.state === 'UploadComplete')
          touch(job, {
            state: 'JobComplete',
            numberRecordsProcessed: job.cursor?.total ?? 0,
            totalProcessingTime: Date.now() - job.started,
          });
      }, 20);
      const { numberRecordsProcessed: _n, retries: _r, totalProcessingTime: _t, ...info } = job.info;
      return jsonReply(200, info);
    }),
    apiRoute('GET', 'bulk', '/jobs/query/([^/]+)', (ctx) => jsonReply(200, jobOf(ctx, 'query').info)),
    apiRoute('PATCH', 'bulk', '/jobs/query/([^/]+)', async (ctx) => {
      const job = jobOf(ctx, 'query');
      if (String(asObject(await ctx.json()).state) !== 'Aborted')
        throw new SfApiError(400, 'INVALIDJOBSTATE', 'Only Aborted can be set on a query job');
      touch(job, { state: 'Aborted' });
      return jsonReply(200, job.info);
    }),
    apiRoute('DELETE', 'bulk', '/jobs/query/([^/]+)', (ctx) => {
      const job = jobOf(ctx, 'query');
      if (job.cursor) sf.cursors.drop(job.cursor.locator);
      jobs.delete(job.id);
      return { status: 204 };
    }),
    apiRoute('GET', 'bulk', '/jobs/query/([^/]+)/results', (ctx) => {
      const job = jobOf(ctx, 'query');
      if (job.info.state !== 'JobComplete' || !job.cursor)
        throw new SfApiError(400, 'INVALIDJOBSTATE', `Job ${job.id} is not complete: ${String(job.info.state)}`);
      const cursor = sf.cursors.get(job.cursor.locator);
      const locator = ctx.url.searchParams.get('locator');
      const from = locator ? Number(Buffer.from(locator, 'base64url').toString('utf8')) : 0;
      if (!Number.isInteger(from) || from < 0)
        throw new SfApiError(400, 'INVALID_LOCATOR', `invalid locator: ${locator ?? ''}`);
      const max = Number(ctx.url.searchParams.get('maxRecords') ?? DEFAULT_QUERY_PAGE);
      const size = Number.isInteger(max) && max > 0 ? max : DEFAULT_QUERY_PAGE;
      const rows = sf.cursors.rawRows(cursor, from, size);
      const delimiter = DELIMITERS[String(job.info.columnDelimiter)] ?? ',';
      const lines = rows.map((row) =>
        csvLine(
          row.map((v, i) => toCsvText(cursor.compiled.csvFields[i], v)),
          delimiter,
        ),
      );
      const end = from + rows.length;
      const reply = csvReply(
        cursor.compiled.csvHeader,
        lines,
        delimiter,
        job.info.lineEnding === 'CRLF' ? '\r\n' : '\n',
      );
      reply.headers = {
        'Sforce-Locator': end < cursor.total ? Buffer.from(String(end)).toString('base64url') : 'null',
        'Sforce-NumberOfRecords': String(rows.length),
      };
      return reply;
    }),
  ];

  return {
    routes: [...ingest, ...query],
    stop: () => {
      stopped = true;
      for (const t of timers) {
        clearTimeout(t as NodeJS.Timeout);
        clearImmediate(t as NodeJS.Immediate);
      }
      timers.clear();
    },
  };
}
