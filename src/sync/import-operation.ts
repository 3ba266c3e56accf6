import { sql } from 'kysely';
import { LiaisonError, errorMessage } from '../core/errors.js';
import { CollectionPacer } from '../core/memory.js';
import type { FilterExpr } from '../crm/filter.js';
import type { QueryRequest, SortKey } from '../crm/driver.js';
import { parseFilter } from '../crm/filter-parse.js';
import { toStoredMultiSelect } from '../enumerations/multi-select.js';
import type { Store } from '../store/store-types.js';
import type { LocalSchema } from '../wizard/schema-types.js';
import type { ActivityContext, ActivityResult } from '../workflow/activity.js';
import { appendRows } from '../store/row-writes.js';
import type { CrmConnectorConfig } from '../workflow/workflow-schema.js';
import { convertValue } from './conversions.js';
import { importColumns, importOutputColumns, resolveColumn, type ImportColumn } from './connector-columns.js';
import type { ConnectorSession } from './connector-session.js';
import { committedWatermark, savePendingWatermark } from './import-watermark.js';
import { OrderedWrites } from './ordered-writes.js';
import { RejectsOutput } from './rejects-output.js';

/**
 * Import from the CRM: filter, upstream population or all records, optionally incremental. Pages flow from the
 * driver through the conversions into the "ok" working set, one transaction per page that also records how far
 * the import got (see import-watermark.ts). Records whose values cannot be converted go to "rejects".
 */
export async function runImport(
  config: CrmConnectorConfig,
  ctx: ActivityContext,
  session: ConnectorSession,
): Promise<ActivityResult> {
  const { driver, schema } = session;
  const columns = importColumns(config, schema);
  const cursorColumn = schema.columns.find((c) => c.column === schema.cursorColumn);
  const outputColumns = importOutputColumns(schema, columns);
  const request: QueryRequest = {
    object: schema.crmObject,
    fields: columns.map((c) => c.column.crmField),
    ...(config.filter ? { filter: crmFilter(config.filter, schema, ctx) } : {}),
    ...(config.orderBy ? { orderBy: config.orderBy.map((item) => sortKey(item, schema)) } : {}),
    ...(config.allRecords ? { includeDeleted: true } : {}),
    ...(config.pageSize ? { pageSize: config.pageSize } : {}),
    signal: ctx.signal,
    // Names from the wizard's schema, which a describe produced: the driver need not wait for another.
    namesDescribed: true,
    ...(schema.crmCollection ? { collectionName: schema.crmCollection } : {}),
  };

  // Incremental: read from the last committed cursor, inclusive, so records sharing its timestamp are read again
  // (and reconciled on the CRM id downstream) rather than lost.
  const incremental =
    config.incremental && config.population === undefined
      ? config.incremental === true
        ? {}
        : config.incremental
      : undefined;
  const cursorField = incremental?.field ? resolveColumn(schema, incremental.field) : cursorColumn;
  let windowStart: string | null = null;
  if (incremental) {
    if (!cursorField)
      throw new LiaisonError(
        'invalid_input',
        `schema "${schema.name}" has no cursor column for an incremental import; name one with incremental.field`,
      );
    const mark = await committedWatermark(ctx.store, ctx.workflow, ctx.activity);
    if (mark?.value && mark.field === cursorField.crmField) {
      windowStart = new Date(Date.parse(mark.value) - (incremental.lookbackSeconds ?? 0) * 1000).toISOString();
      request.modifiedSince = { field: cursorField.crmField, from: windowStart };
    }
  }

  // Straight into the activity the records feed when the engine streams them (one write per record), else staged.
  const sink = await ctx.openSink('ok', outputColumns);
  const table = sink ? undefined : await ctx.createOutputTable('ok', outputColumns);
  const rejects = new RejectsOutput(ctx, config.rejectsFile, [schema.crmIdColumn]);
  const cursorName = cursorField?.column;
  let maxCursor: string | null = null;
  let done = 0;
  let produced = 0;
  const pacer = new CollectionPacer();
  // Page k+1 is mapped (and the CRM read on) while page k is written; pages that wait are written together, each
  // transaction with the watermark of its last page. Weighed in records, so that what waits stays the same size
  // whatever the CRM's page size: 4 Salesforce pages (2,000) or one Dataverse page (5,000).
  const writes = new OrderedWrites<MappedPage>(
    async (pages) => {
      const last = pages[pages.length - 1]!;
      await ctx.store.db.transaction().execute(async (trx) => {
        for (const { rows } of pages) {
          if (sink) await sink.write(trx, rows);
          else await appendRows(ctx.store, trx, table!, rows);
        }
        if (incremental && cursorField) {
          await savePendingWatermark(
            trx,
            { workflow: ctx.workflow, activity: ctx.activity, runId: ctx.runId },
            { field: cursorField.crmField, value: last.mark, windowStart, windowEnd: last.mark },
          );
        }
      });
      for (const page of pages) {
        produced += page.rows.length;
        done += page.records;
        pacer.tick(page.records);
      }
      ctx.progress(done, last.total);
    },
    PENDING_RECORDS,
    (page) => page.records,
  );
  const writePage = async (records: { id: string; values: Record<string, unknown> }[], total?: number) => {
    const rows: Record<string, unknown>[] = [];
    for (const record of records) {
      try {
        rows.push(toRow(record, columns, schema, ctx.store.dialect));
      } catch (error) {
        await rejects.add({ [schema.crmIdColumn]: record.id }, 'conversion_failed', errorMessage(error));
      }
    }
    if (cursorName) {
      for (const row of rows) {
        const value = row[cursorName];
        if (typeof value === 'string' && (maxCursor === null || value > maxCursor)) maxCursor = value;
      }
    }
    // The highest cursor of this page and every earlier one: what a transaction ending with this page records.
    await writes.push({ rows, records: records.length, mark: maxCursor, ...(total === undefined ? {} : { total }) });
  };

  try {
    if (config.population !== undefined) {
      await importPopulation(config.population, ctx, async (ids) => {
        for await (const page of driver.query({ ...request, ids })) await writePage(page.records);
      });
    } else {
      let total: number | undefined;
      for await (const page of driver.query(request)) {
        total ??= page.totalSize;
        await writePage(page.records, total);
      }
    }
    await writes.drain();
  } finally {
    // After a failure (the CRM's or a write's), nothing of this import may still be writing when the engine cleans up.
    await writes.settle();
  }

  const prefix = ctx.activity.replace(/[^A-Za-z0-9_]/g, '_');
  ctx.vars.set(`${prefix}_window_start`, windowStart === null ? null : { datetime: windowStart });
  ctx.vars.set(`${prefix}_window_end`, maxCursor === null ? null : { datetime: maxCursor });
  const ok = sink ? undefined : await ctx.finishOutput('ok');
  ctx.counters.recordsOut = ok ? ok.count : produced;
  ctx.counters.rejects = rejects.count;
  return { outputs: { ...(ok ? { ok } : {}), ...(await rejects.finish()) } };
}

/** Records mapped and waiting to be written, at most (see OrderedWrites). */
const PENDING_RECORDS = 8_000;

/** A page mapped to store rows, waiting to be written. */
interface MappedPage {
  rows: Record<string, unknown>[];
  records: number;
  mark: string | null;
  total?: number;
}

function toRow(
  record: { id: string; values: Record<string, unknown> },
  columns: ImportColumn[],
  schema: LocalSchema,
  dialect: Store['dialect'],
): Record<string, unknown> {
  const row: Record<string, unknown> = { [schema.crmIdColumn]: record.id };
  for (const { column, conversion } of columns) {
    if (column.column === schema.crmIdColumn) continue;
    let value: unknown = convertValue(record.values[column.crmField], conversion, { fieldType: column.type });
    if (Array.isArray(value)) value = toStoredMultiSelect(value);
    if (typeof value === 'boolean' && dialect === 'sqlite') value = value ? 1 : 0;
    row[column.column] = value;
    if (column.targetColumn)
      row[column.targetColumn] = (record.values[`${column.crmField}@target`] as string | undefined) ?? null;
  }
  return row;
}

/** Filter text on CRM fields or schema columns → a FilterExpr on CRM field names (values stay values). */
function crmFilter(text: string, schema: LocalSchema, ctx: ActivityContext): FilterExpr {
  const rename = (expr: FilterExpr): FilterExpr => {
    switch (expr.kind) {
      case 'and':
      case 'or':
        return { ...expr, args: expr.args.map(rename) };
      case 'not':
        return { ...expr, arg: rename(expr.arg) };
      default:
        return { ...expr, field: resolveColumn(schema, expr.field).crmField };
    }
  };
  return rename(parseFilter(text, { resolveVar: (name) => ctx.vars.get(name) }));
}

function sortKey(item: string, schema: LocalSchema): SortKey {
  const [name, direction] = item.trim().split(/\s+/);
  return {
    field: resolveColumn(schema, name!).crmField,
    direction: direction?.toLowerCase() === 'desc' ? 'desc' : 'asc',
  };
}

/**
 * Reads the distinct CRM ids of the input working set's `column` (keyset-paged in the database, so nothing grows
 * in memory) and hands each chunk to `fetch`.
 */
async function importPopulation(
  column: string,
  ctx: ActivityContext,
  fetch: (ids: string[]) => Promise<void>,
): Promise<void> {
  const input = ctx.inputs[0];
  if (!input)
    throw new LiaisonError('workflow_invalid', `activity "${ctx.activity}" imports a population but has no input`);
  if (!input.columns.some((c) => c.name === column)) {
    throw new LiaisonError(
      'field_not_found',
      `population column "${column}" is not in the input working set; it has ${input.columns.map((c) => c.name).join(', ')}`,
    );
  }
  let after = '';
  for (;;) {
    const result = await sql<{ id: string }>`select distinct ${sql.ref(column)} as id from ${sql.table(input.table)}
      where ${sql.ref(column)} > ${after} order by ${sql.ref(column)} limit 2000`.execute(ctx.store.db);
    const ids = result.rows.map((row) => String(row.id)).filter((id) => id !== '');
    if (ids.length > 0) await fetch(ids);
    if (result.rows.length < 2000) return;
    after = String(result.rows[result.rows.length - 1]!.id);
  }
}
