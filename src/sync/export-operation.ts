import { sql } from 'kysely';
import { CollectionPacer } from '../core/memory.js';
import { LiaisonError } from '../core/errors.js';
import type { CrmDriver, WriteItem, WriteOperation, WriteOutcome } from '../crm/driver.js';
import { assertIdentifier } from '../store/filter-sql.js';
import type { ActivityContext, ActivityResult } from '../workflow/activity.js';
import type { CrmConnectorConfig } from '../workflow/workflow-schema.js';
import type { Row } from '../workflow/working-set.js';
import type { ConnectorSession } from './connector-session.js';
import { ExportJournal, type JournalEntry } from './export-journal.js';
import { compileMapping } from './export-values.js';
import { RejectsOutput } from './rejects-output.js';

/** Above this many records, `bulk: auto` uses the CRM's bulk API when it has one. */
export const BULK_THRESHOLD = 10_000;

interface Pending {
  ref: string;
  operation: WriteOperation;
  item: WriteItem;
}

/**
 * Export to the CRM (insert, update, insert-or-update, upsert by external id) and delete in the CRM. Records go in
 * batches of at most the CRM's limit, or through its bulk API for large sets; every outcome is journaled as it
 * comes (see export-journal.ts) so a rerun sends each remaining record exactly once. Rejected records go to the
 * "rejects" output with the CRM's code and message and never abort their batch.
 */
export async function runWrite(
  config: CrmConnectorConfig,
  ctx: ActivityContext,
  session: ConnectorSession,
): Promise<ActivityResult> {
  const { driver, schema } = session;
  const input = ctx.inputs[0];
  if (!input)
    throw new LiaisonError(
      'workflow_invalid',
      `activity "${ctx.activity}" (${config.operation}) needs an input working set`,
    );
  const columns = input.columns.map((c) => c.name);
  const keyColumn = config.key ?? (columns.includes('id') ? 'id' : schema.crmIdColumn);
  const idColumn = config.idColumn ?? schema.crmIdColumn;
  for (const [what, name] of [
    ['key', keyColumn],
    ['idColumn', idColumn],
  ] as const) {
    if (
      !columns.includes(name) &&
      (what === 'key' || config.operation === 'delete' || (config.mode ?? 'insert-or-update') !== 'insert')
    ) {
      throw new LiaisonError(
        'field_not_found',
        `${what} column "${name}" is not in the input working set of "${ctx.activity}"; it has ${columns.join(', ')}`,
      );
    }
  }
  const isDelete = config.operation === 'delete';
  const mode = config.mode ?? 'insert-or-update';
  if (!isDelete && !config.mapping)
    throw new LiaisonError(
      'workflow_invalid',
      `activity "${ctx.activity}": an export needs a mapping (CRM field → column)`,
    );
  if (mode === 'upsert' && !config.externalIdField)
    throw new LiaisonError('workflow_invalid', `activity "${ctx.activity}": mode upsert needs externalIdField`);
  const mapping = isDelete ? [] : compileMapping(config.mapping!, columns, schema);
  const batchSize = clampBatch(config.batchSize, driver, ctx);
  const useBulk =
    !isDelete &&
    driver.bulkWrite !== undefined &&
    config.bulk !== 'never' &&
    (config.bulk === 'always' || input.count >= BULK_THRESHOLD);

  const journal = new ExportJournal(ctx.store, { workflow: ctx.workflow, activity: ctx.activity, runId: ctx.runId });
  await journal.clearCompletedRuns();
  const rejects = new RejectsOutput(
    ctx,
    config.rejectsFile,
    [keyColumn, idColumn].filter((c, i, all) => all.indexOf(c) === i),
  );
  const ok = await ctx.createOutput('ok', [
    { name: keyColumn, kind: 'text' },
    { name: 'crm_id', kind: 'text' },
    { name: 'created', kind: 'boolean' },
  ]);
  const startedAt = new Date().toISOString();
  const baseRequest = {
    object: schema.crmObject,
    ...(config.externalIdField ? { externalIdField: config.externalIdField } : {}),
    ...(config.assignmentRules ? { useAssignmentRules: true } : {}),
    signal: ctx.signal,
  };
  let batchNo = 0;
  let done = 0;

  const toPending = (row: Row): Pending | { ref: string; reject: [string, string] } => {
    const ref = String(row[keyColumn]);
    const crmId =
      row[idColumn] === null || row[idColumn] === undefined || row[idColumn] === '' ? undefined : String(row[idColumn]);
    if (isDelete)
      return crmId
        ? { ref, operation: 'delete', item: { ref, id: crmId, values: {} } }
        : { ref, reject: ['missing_id', `no CRM id in column ${idColumn}`] };
    const values = Object.fromEntries(mapping.map((m) => [m.crmField, m.read(row)]));
    switch (mode) {
      case 'insert':
        return { ref, operation: 'insert', item: { ref, values } };
      case 'update':
        return crmId
          ? { ref, operation: 'update', item: { ref, id: crmId, values } }
          : { ref, reject: ['missing_id', `mode update needs a CRM id in column ${idColumn}`] };
      case 'upsert':
        return { ref, operation: 'upsert', item: { ref, values } };
      default:
        return crmId
          ? { ref, operation: 'update', item: { ref, id: crmId, values } }
          : { ref, operation: 'insert', item: { ref, values } };
    }
  };

  /** Applies outcomes: journal + write-back in one transaction, then the ok/rejects outputs. */
  const settle = async (
    outcomes: (WriteOutcome & { uncertain?: boolean })[],
    operationOf: (ref: string) => WriteOperation | undefined,
    batch: number,
  ) => {
    const rowsById = new Map<string, Row>();
    await ctx.store.db.transaction().execute(async (trx) => {
      await journal.record(
        trx,
        outcomes.map((o) =>
          o.ok
            ? { ref: o.ref, state: 'ok' as const, crmId: o.id, created: o.created }
            : {
                ref: o.ref,
                state: o.uncertain ? ('uncertain' as const) : ('rejected' as const),
                code: o.code,
                message: o.message,
              },
        ),
        batch,
      );
      if (config.writeBack)
        await writeBack(
          trx,
          config.writeBack,
          outcomes.filter((o): o is Extract<WriteOutcome, { ok: true }> => o.ok),
          operationOf,
          startedAt,
        );
    });
    for (const outcome of outcomes) {
      if (outcome.ok)
        rowsById.set(outcome.ref, { [keyColumn]: outcome.ref, crm_id: outcome.id, created: outcome.created });
      else await rejects.add({ [keyColumn]: outcome.ref, [idColumn]: null }, outcome.code, outcome.message);
    }
    await ok.write(rowsById.values());
    done += outcomes.length;
    ctx.progress(done, input.count);
  };

  const send = async (pending: Pending[]) => {
    if (pending.length === 0) return;
    batchNo += 1;
    const batch = batchNo;
    await journal.markInFlight(
      pending.map((p) => p.ref),
      batch,
    );
    const operations = new Map(pending.map((p) => [p.ref, p.operation]));
    const byOperation = new Map<WriteOperation, WriteItem[]>();
    for (const p of pending) {
      const items = byOperation.get(p.operation);
      if (items) items.push(p.item);
      else byOperation.set(p.operation, [p.item]);
    }
    for (const [operation, items] of byOperation) {
      let outcomes: WriteOutcome[];
      try {
        outcomes = await driver.writeBatch({ ...baseRequest, operation }, items);
      } catch (error) {
        // The CRM (or the driver, on its behalf) refused the batch as a whole for what it holds — an unknown or
        // read-only field, a malformed value: every record of it is a reject with that code and message, and the
        // export goes on. Failures of the connection, the credentials or the API allowance stop the run instead.
        const refusal = batchRefusal(error);
        if (!refusal) throw error;
        outcomes = items.map((item) => ({ ref: item.ref, ok: false as const, ...refusal }));
      }
      await settle(outcomes, (ref) => operations.get(ref), batch);
    }
  };

  const resolveInFlight = async (pending: Pending[], known: Map<string, JournalEntry>): Promise<Pending[]> => {
    const uncertain = pending.filter(
      (p) => known.get(p.ref)?.state === 'in_flight' || known.get(p.ref)?.state === 'uncertain',
    );
    // Updates, upserts and deletes of the same values are safe to send again; only inserts may duplicate.
    const inserts = uncertain.filter((p) => p.operation === 'insert');
    if (inserts.length === 0) return pending;
    const matchKey = config.matchKey ?? config.externalIdField;
    const resolved = new Map<string, WriteOutcome & { uncertain?: boolean }>();
    if (!matchKey) {
      for (const p of inserts) {
        resolved.set(p.ref, {
          ref: p.ref,
          ok: false,
          uncertain: true,
          code: 'uncertain',
          message:
            'the batch that sent this record was interrupted before the CRM answered; without a matchKey Liaison cannot tell whether it was created, so it was not sent again',
        });
      }
    } else {
      const field = mapping.find((m) => m.crmField.toLowerCase() === matchKey.toLowerCase())?.crmField ?? matchKey;
      const values = inserts
        .map((p) => p.item.values[field])
        .filter((v): v is string | number => typeof v === 'string' || typeof v === 'number');
      const found = new Map<string, string>();
      for await (const page of driver.query({
        object: schema.crmObject,
        fields: [field],
        filter: { kind: 'in', field, values },
        signal: ctx.signal,
      })) {
        for (const record of page.records) found.set(String(record.values[field]), record.id);
      }
      for (const p of inserts) {
        const id = found.get(String(p.item.values[field]));
        if (id) resolved.set(p.ref, { ref: p.ref, ok: true, id, created: true });
      }
    }
    if (resolved.size > 0) await settle([...resolved.values()], () => 'insert', 0);
    return pending.filter((p) => !resolved.has(p.ref));
  };

  const process = async (rows: Row[]): Promise<Pending[]> => {
    const refs = rows.map((row) => String(row[keyColumn]));
    const known = await journal.lookup(refs);
    let pending: Pending[] = [];
    for (const row of rows) {
      const entry = known.get(String(row[keyColumn]));
      if (entry && (entry.state === 'ok' || entry.state === 'rejected')) {
        done += 1; // settled by an earlier attempt: never sent twice
        continue;
      }
      const next = toPending(row);
      if ('reject' in next) {
        await rejects.add({ [keyColumn]: next.ref, [idColumn]: row[idColumn] ?? null }, next.reject[0], next.reject[1]);
        done += 1;
      } else pending.push(next);
    }
    pending = await resolveInFlight(pending, known);
    return pending;
  };

  /**
   * What a later bulk job takes from a page: records neither settled nor given up on (the first pass reported the
   * rejects and resolved the interrupted inserts), of that job's operation. No side effect: it reads pages again.
   */
  const unsent = async (rows: Row[]): Promise<Pending[]> => {
    const known = await journal.lookup(rows.map((row) => String(row[keyColumn])));
    const out: Pending[] = [];
    for (const row of rows) {
      const state = known.get(String(row[keyColumn]))?.state;
      if (state === 'ok' || state === 'rejected' || state === 'uncertain') continue;
      const next = toPending(row);
      if (!('reject' in next)) out.push(next);
    }
    return out;
  };

  // Each record sent leaves its row, request, answer and journal statements behind as garbage (measured: ~100 MB
  // per 25,000 records with 20 MB live): collected every 5,000 records read (when the host allows it, see
  // core/memory.ts), rather than when V8's old generation has grown large.
  const pacer = new CollectionPacer(5_000);
  const pages = async function* (size: number): AsyncGenerator<Row[]> {
    for await (const rows of input.pages(size)) {
      pacer.tick(rows.length);
      yield rows;
    }
  };

  if (useBulk) {
    const operations: WriteOperation[] =
      mode === 'insert-or-update' ? ['update', 'insert'] : [mode as 'insert' | 'update' | 'upsert'];
    await bulkExport(
      driver,
      baseRequest,
      operations,
      (first) => ({ pages: pages(5000), select: first ? process : unsent }),
      journal,
      settle,
      () => ++batchNo,
      (records) => pacer.tick(records),
    );
  } else {
    for await (const rows of pages(batchSize)) await send(await process(rows));
  }

  const output = await ok.finish();
  ctx.counters.recordsOut = output.count;
  ctx.counters.rejects = rejects.count;
  return { outputs: { ok: output, ...(await rejects.finish()) } };
}

/** The code and message of an error that refuses a batch's content (rather than the connection or the account). */
function batchRefusal(error: unknown): { code: string; message: string } | undefined {
  if (!(error instanceof LiaisonError)) return undefined;
  const status = typeof error.details.status === 'number' ? error.details.status : undefined;
  const contentError =
    ['field_not_found', 'invalid_input'].includes(error.code) ||
    (error.code === 'crm_error' &&
      status !== undefined &&
      status >= 400 &&
      status < 500 &&
      status !== 401 &&
      status !== 403 &&
      status !== 429);
  if (!contentError) return undefined;
  const crmCode = error.details.errorCode ?? error.details.code;
  return { code: typeof crmCode === 'string' ? crmCode : error.code, message: error.message };
}

function clampBatch(requested: number | undefined, driver: CrmDriver, ctx: ActivityContext): number {
  const max = driver.capabilities.maxBatchSize;
  if (requested === undefined) return max;
  if (requested > max) {
    ctx.log.warn({ requested, max }, 'batch size clamped');
    process.stderr.write(
      `liaison: warning: activity "${ctx.activity}": batchSize ${requested} is over the CRM's limit; using ${max}\n`,
    );
    return max;
  }
  return requested;
}

/**
 * Bulk path: one job per operation, in turn, each reading the input again and streaming its records into the
 * driver (which spools them to disk), so nothing grows with the number of records. The first read does what
 * reading a page entails (skipping settled records, rejects, resolving interrupted inserts); later ones only
 * select. Each page's records are journaled as in flight before they are handed on.
 */
async function bulkExport(
  driver: CrmDriver,
  baseRequest: { object: string; externalIdField?: string; signal: AbortSignal },
  operations: WriteOperation[],
  read: (first: boolean) => { pages: AsyncIterable<Row[]>; select: (rows: Row[]) => Promise<Pending[]> },
  journal: ExportJournal,
  settle: (outcomes: WriteOutcome[], operationOf: (ref: string) => WriteOperation, batch: number) => Promise<void>,
  nextBatch: () => number,
  /** Counts settled records for the collection pacer: a job's results come after its whole upload was read. */
  settled: (records: number) => void,
): Promise<void> {
  for (const [index, operation] of operations.entries()) {
    const batch = nextBatch();
    const { pages, select } = read(index === 0);
    async function* items(): AsyncGenerator<WriteItem> {
      for await (const rows of pages) {
        const pending = (await select(rows)).filter((p) => p.operation === operation);
        if (pending.length === 0) continue;
        await journal.markInFlight(
          pending.map((p) => p.ref),
          batch,
        );
        for (const p of pending) yield p.item;
      }
    }
    let chunk: WriteOutcome[] = [];
    for await (const outcome of driver.bulkWrite!({ ...baseRequest, operation }, items())) {
      chunk.push(outcome);
      if (chunk.length >= 2000) {
        await settle(chunk, () => operation, batch);
        settled(chunk.length);
        chunk = [];
      }
    }
    if (chunk.length > 0) await settle(chunk, () => operation, batch);
  }
}

/** Writes created CRM ids and clears the "changed locally" mark of records the CRM now holds. */
async function writeBack(
  db: ActivityContext['store']['db'],
  target: NonNullable<CrmConnectorConfig['writeBack']>,
  outcomes: Extract<WriteOutcome, { ok: true }>[],
  operationOf: (ref: string) => WriteOperation | undefined,
  startedAt: string,
): Promise<void> {
  const table = assertIdentifier(target.table, 'writeBack table');
  const key = assertIdentifier(target.key, 'writeBack key');
  if (target.crmId) {
    const column = assertIdentifier(target.crmId, 'writeBack crmId');
    const written = outcomes.filter((o) => operationOf(o.ref) !== 'delete');
    // One statement per 200 records (a CASE on the key), not one per record: this runs once per batch.
    for (let i = 0; i < written.length; i += 200) {
      const chunk = written.slice(i, i + 200);
      const cases = sql.join(
        chunk.map((o) => sql`when ${keyValue(o.ref)} then ${o.id}`),
        sql` `,
      );
      const keys = sql.join(chunk.map((o) => keyValue(o.ref)));
      await sql`update ${sql.table(table)} set ${sql.ref(column)} = case ${sql.ref(key)} ${cases} end
        where ${sql.ref(key)} in (${keys})`.execute(db);
    }
  }
  if (target.clear) {
    const column = assertIdentifier(target.clear, 'writeBack clear');
    const refs = outcomes.map((o) => keyValue(o.ref));
    for (let i = 0; i < refs.length; i += 500) {
      // Only if not changed again since this export started: a newer local change must still go out.
      await sql`update ${sql.table(table)} set ${sql.ref(column)} = null where ${sql.ref(key)} in (${sql.join(refs.slice(i, i + 500))}) and ${sql.ref(column)} <= ${startedAt}`.execute(
        db,
      );
    }
  }
}

/** Journal refs are text; local integer keys must bind as numbers for PostgreSQL's typed comparison. */
function keyValue(ref: string): string | number {
  return /^-?\d{1,15}$/.test(ref) ? Number(ref) : ref;
}
