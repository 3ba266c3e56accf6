import { sql, type Kysely, type RawBuilder } from 'kysely';
import { LiaisonError } from '../../core/errors.js';
import { bindValue } from '../../store/filter-sql.js';
import type { LiaisonDatabase, Store } from '../../store/store-types.js';
import type { ActivityHandler } from '../activity.js';
import { ROW_KEY } from '../working-set.js';
import type { UpdateDataConfig } from '../workflow-schema.js';
import { requireTableColumns, safeSqlType, uniqueKeys, type ColumnInfo } from '../workflow-tables.js';
import { affected, col, columnList, fillOutput, requireColumn, singleInput } from './activity-sql.js';

/** Columns Liaison stamps itself when a table has them (unless the workflow maps them explicitly). */
const STAMPS = ['created_at', 'modified_at', 'modified_locally_at'] as const;

/**
 * Writes the working set into a local table: insert, update, insert-or-update or delete reconciled on `keys`, or
 * mark-deleted (sets a column). Everything happens in ONE transaction, so a failure leaves the table untouched and a
 * resumed run cannot write twice. Records with a null key cannot be reconciled: they go to "rejects".
 * `origin: crm` (an import) leaves `modified_locally_at` alone and skips rows whose local change is still pending;
 * local writes (the default) stamp it, which is what the two-way sync reads to find local changes. Dedupe the working set first: two records with one key in the same
 * run would both be inserted (or update in an unspecified order).
 */
export const updateDataActivity: ActivityHandler<UpdateDataConfig> = {
  async run(config, ctx) {
    const input = singleInput(ctx);
    const plan = await planUpdateData(config, ctx.store, ctx.activity, input.columns);
    ctx.progress(0, input.count);
    let written = 0;
    await ctx.store.db.transaction().execute(async (trx) => {
      written = await plan.apply(trx, input.table);
    });
    const rejects = await plan.countRejects(ctx.store.db, input.table);
    ctx.counters.recordsOut += written;
    ctx.counters.rejects += rejects;
    const list = columnList(input.columns.map((c) => c.name));
    const ws = sql`${sql.table(input.table)} w`;
    const copy = (accepted: boolean) => (table: string) =>
      sql`insert into ${sql.table(table)} (${list}) select ${list} from ${ws}
        where ${accepted ? plan.keyed : sql`not (${plan.keyed})`} order by ${col('w', ROW_KEY)}`.execute(ctx.store.db);
    const outputs = {
      ...(await fillOutput(ctx, 'ok', input.columns, copy(true))),
      // Without keys nothing is rejected: the declared output is still produced, empty, for what follows.
      ...(await fillOutput(ctx, 'rejects', input.columns, copy(false))),
    };
    ctx.progress(input.count, input.count);
    return { outputs };
  },

  /**
   * While the activity feeding this one (an import) runs: its rows are staged in batches, and each batch is
   * upserted on the keys (`insert … on conflict do update`) inside the producer's transaction, so the writing
   * overlaps the producer's waits on a CRM. Only insert-or-update, on keys that are a unique index of the target:
   * an upsert probes that index per row, so a batch costs the same however large the table has grown (an
   * UPDATE … FROM join is planned as a scan of the whole table, every batch). Applying a batch twice is harmless,
   * which a producer resumed after a failure does. Anything else is staged and run whole.
   */
  async openSink(config, request) {
    if (config.operation !== 'insert-or-update' || !config.keys?.length) return undefined;
    const keys = new Set(config.keys);
    const unique = await uniqueKeys(request.store, config.table);
    if (!unique.some((index) => index.length === keys.size && index.every((c) => keys.has(c)))) return undefined;
    const plan = await planUpdateData(config, request.store, request.activity, request.columns);
    let written = 0;
    let rejects = 0;
    return {
      async apply(db, table) {
        written += await plan.upsert(db, table);
        rejects += await plan.countRejects(db, table);
      },
      finish: () => ({ recordsOut: written, rejects }),
    };
  },
};

/** What update-data will do, checked against the target table and the input's columns before anything is written. */
interface UpdateDataPlan {
  /** The working-set condition "every key is set" (rows without one are rejects). */
  keyed: RawBuilder<unknown>;
  /** Applies the operation to the target from the working-set table `table`; returns the rows written. */
  apply(db: Kysely<LiaisonDatabase>, table: string): Promise<number>;
  /**
   * insert-or-update as one `insert … on conflict (keys) do update` (the keys must be a unique index of the target);
   * of rows sharing keys the last one wins. Returns the rows written.
   */
  upsert(db: Kysely<LiaisonDatabase>, table: string): Promise<number>;
  countRejects(db: Kysely<LiaisonDatabase>, table: string): Promise<number>;
}

async function planUpdateData(
  config: UpdateDataConfig,
  store: Store,
  activity: string,
  inputColumns: readonly ColumnInfo[],
): Promise<UpdateDataPlan> {
  const target = await requireTableColumns(store, config.table, 'create it (e.g. with the wizard) and resume the run');
  const has = (name: string) => target.some((c) => c.name === name);
  const where = `the input of "${activity}"`;
  const mapping: [string, string][] = config.mapping
    ? Object.entries(config.mapping)
    : inputColumns
        .filter((c) => has(c.name) && !(STAMPS as readonly string[]).includes(c.name))
        .map((c) => [c.name, c.name]);
  for (const [targetColumn, source] of mapping) {
    requireColumn(target, targetColumn, `table "${config.table}"`);
    requireColumn(inputColumns, source, where);
  }
  const keys = (config.keys ?? []).map((key): [string, string] => {
    requireColumn(target, key, `table "${config.table}"`);
    const source = config.mapping ? config.mapping[key] : key;
    if (!source)
      throw new LiaisonError(
        'workflow_invalid',
        `activity "${activity}": key "${key}" has no source column in "mapping"`,
      );
    return [key, requireColumn(inputColumns, source, where).name];
  });
  if (config.operation !== 'insert' && keys.length === 0)
    throw new LiaisonError('workflow_invalid', `activity "${activity}": operation "${config.operation}" needs keys`);
  if (config.operation === 'mark-deleted') {
    if (!config.markDeleted)
      throw new LiaisonError('workflow_invalid', `activity "${activity}": mark-deleted needs markDeleted.column`);
    requireColumn(target, config.markDeleted.column, `table "${config.table}"`);
  }
  const now = new Date().toISOString();
  // PostgreSQL does not convert text to timestamptz/numeric/boolean on assignment: cast working-set values whose
  // type differs from the target column's (SQLite stores any value in any column).
  const source = (targetColumn: string, sourceColumn: string): RawBuilder<unknown> => {
    const to = target.find((c) => c.name === targetColumn);
    const from = inputColumns.find((c) => c.name === sourceColumn);
    const type = safeSqlType(to?.sqlType);
    if (store.dialect !== 'postgres' || !type || !from || from.sqlType === type) return col('w', sourceColumn);
    return sql`cast(${col('w', sourceColumn)} as ${sql.raw(type)})`;
  };
  const mapped = new Set(mapping.map(([t]) => t));
  const stamp = (names: readonly string[]): [string, RawBuilder<unknown>][] =>
    names
      .filter((n) => has(n) && !mapped.has(n) && (n !== 'modified_locally_at' || config.origin !== 'crm'))
      .map((n) => [n, sql.val(now)]);
  const skipsPendingLocalChanges =
    config.origin === 'crm' && has('modified_locally_at') && !mapped.has('modified_locally_at');
  const keyed =
    keys.length > 0
      ? sql.join(
          keys.map(([, s]) => sql`${col('w', s)} is not null`),
          sql` and `,
        )
      : sql`1 = 1`;
  const match = sql.join(
    keys.map(([t, s]) => sql`${col(config.table, t)} = ${source(t, s)}`),
    sql` and `,
  );

  /** What an inserted row gets: the mapped columns from the working set, then the stamps Liaison sets. */
  const inserted = () => {
    const extra = stamp(STAMPS);
    return {
      extra: extra.map(([t]) => t),
      targets: [...mapping.map(([t]) => t), ...extra.map(([t]) => t)],
      values: [...mapping.map(([t, s]) => source(t, s)), ...extra.map(([, v]) => v)],
    };
  };
  const insert = (db: Kysely<LiaisonDatabase>, table: string, onlyNew: boolean) => {
    const ws = sql`${sql.table(table)} w`;
    const { targets, values } = inserted();
    const newOnly = onlyNew
      ? sql`where ${keyed} and not exists (select 1 from ${sql.table(config.table)} where ${match})`
      : keys.length > 0
        ? sql`where ${keyed}`
        : sql``;
    return sql`insert into ${sql.table(config.table)} (${columnList(targets)}) select ${sql.join(values)} from ${ws}
      ${newOnly} order by ${col('w', ROW_KEY)}`.execute(db);
  };
  const update = (db: Kysely<LiaisonDatabase>, table: string) => {
    const ws = sql`${sql.table(table)} w`;
    const sets = [
      ...mapping.filter(([t]) => !keys.some(([k]) => k === t)).map(([t, s]) => sql`${sql.ref(t)} = ${source(t, s)}`),
      ...stamp(['modified_at', 'modified_locally_at']).map(([t, v]) => sql`${sql.ref(t)} = ${v}`),
    ];
    if (sets.length === 0) return Promise.resolve({ numAffectedRows: 0n });
    // An import never overwrites a row whose local change has not reached the CRM yet: local wins until exported
    // (an opt-out must not be undone by an older CRM value), and nothing is sent back that was not changed here.
    const pending = skipsPendingLocalChanges ? sql` and ${col(config.table, 'modified_locally_at')} is null` : sql``;
    return sql`update ${sql.table(config.table)} set ${sql.join(sets)} from ${ws} where ${match} and ${keyed}${pending}`.execute(
      db,
    );
  };

  return {
    keyed,
    async apply(db, table) {
      const exists = sql`exists (select 1 from ${sql.table(table)} w where ${match} and ${keyed})`;
      switch (config.operation) {
        case 'insert':
          return affected(await insert(db, table, false));
        case 'update':
          return affected(await update(db, table));
        case 'insert-or-update':
          return affected(await update(db, table)) + affected(await insert(db, table, true));
        case 'delete':
          return affected(await sql`delete from ${sql.table(config.table)} where ${exists}`.execute(db));
        case 'mark-deleted': {
          const mark = config.markDeleted!;
          const value = mark.value === undefined ? now : bindValue(mark.value, store.dialect);
          const sets = [
            sql`${sql.ref(mark.column)} = ${value}`,
            ...stamp(['modified_at', 'modified_locally_at']).map(([t, v]) => sql`${sql.ref(t)} = ${v}`),
          ];
          return affected(
            await sql`update ${sql.table(config.table)} set ${sql.join(sets)} where ${exists}`.execute(db),
          );
        }
      }
    },
    async upsert(db, table) {
      const { extra, targets, values } = inserted();
      const updates = [
        ...mapping.filter(([t]) => !keys.some(([k]) => k === t)).map(([t]) => t),
        ...extra.filter((t) => t !== 'created_at'),
      ];
      const onConflict =
        updates.length === 0
          ? sql`do nothing`
          : sql`do update set ${sql.join(updates.map((t) => sql`${sql.ref(t)} = excluded.${sql.ref(t)}`))}${
              skipsPendingLocalChanges ? sql` where ${col(config.table, 'modified_locally_at')} is null` : sql``
            }`;
      // One statement may not reach a row twice (PostgreSQL refuses it): the last of rows sharing keys is kept.
      const last = sql`${col('w', ROW_KEY)} in (select max(${sql.ref(ROW_KEY)}) from ${sql.table(table)} group by ${sql.join(
        keys.map(([, s]) => sql.ref(s)),
      )})`;
      return affected(
        await sql`insert into ${sql.table(config.table)} (${columnList(targets)})
          select ${sql.join(values)} from ${sql`${sql.table(table)} w`} where ${keyed} and ${last}
          order by ${col('w', ROW_KEY)} on conflict (${columnList(keys.map(([t]) => t))}) ${onConflict}`.execute(db),
      );
    },
    countRejects: (db, table) =>
      keys.length > 0
        ? countNullKeys(
            db,
            table,
            keys.map(([, s]) => s),
          )
        : Promise.resolve(0),
  };
}

async function countNullKeys(db: Kysely<LiaisonDatabase>, table: string, columns: string[]): Promise<number> {
  const anyNull = sql.join(
    columns.map((c) => sql`${sql.ref(c)} is null`),
    sql` or `,
  );
  const result = await sql<{
    n: number | string;
  }>`select count(*) as n from ${sql.table(table)} where ${anyNull}`.execute(db);
  return Number(result.rows[0]?.n ?? 0);
}
