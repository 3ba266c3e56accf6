import { sql, type Kysely, type RawBuilder } from 'kysely';
import { LiaisonError } from '../../core/errors.js';
import { bindValue } from '../../store/filter-sql.js';
import type { LiaisonDatabase } from '../../store/store-types.js';
import type { ActivityHandler } from '../activity.js';
import { ROW_KEY } from '../working-set.js';
import type { UpdateDataConfig } from '../workflow-schema.js';
import { requireTableColumns, safeSqlType } from '../workflow-tables.js';
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
    const target = await requireTableColumns(
      ctx.store,
      config.table,
      'create it (e.g. with the wizard) and resume the run',
    );
    const has = (name: string) => target.some((c) => c.name === name);
    const where = `the input of "${ctx.activity}"`;
    const mapping: [string, string][] = config.mapping
      ? Object.entries(config.mapping)
      : input.columns
          .filter((c) => has(c.name) && !(STAMPS as readonly string[]).includes(c.name))
          .map((c) => [c.name, c.name]);
    for (const [targetColumn, source] of mapping) {
      requireColumn(target, targetColumn, `table "${config.table}"`);
      requireColumn(input.columns, source, where);
    }
    const keys = (config.keys ?? []).map((key): [string, string] => {
      requireColumn(target, key, `table "${config.table}"`);
      const source = config.mapping ? config.mapping[key] : key;
      if (!source)
        throw new LiaisonError(
          'workflow_invalid',
          `activity "${ctx.activity}": key "${key}" has no source column in "mapping"`,
        );
      return [key, requireColumn(input.columns, source, where).name];
    });
    if (config.operation !== 'insert' && keys.length === 0)
      throw new LiaisonError(
        'workflow_invalid',
        `activity "${ctx.activity}": operation "${config.operation}" needs keys`,
      );
    const now = new Date().toISOString();
    // PostgreSQL does not convert text to timestamptz/numeric/boolean on assignment: cast working-set values whose
    // type differs from the target column's (SQLite stores any value in any column).
    const source = (targetColumn: string, sourceColumn: string): RawBuilder<unknown> => {
      const to = target.find((c) => c.name === targetColumn);
      const from = input.columns.find((c) => c.name === sourceColumn);
      const type = safeSqlType(to?.sqlType);
      if (ctx.store.dialect !== 'postgres' || !type || !from || from.sqlType === type) return col('w', sourceColumn);
      return sql`cast(${col('w', sourceColumn)} as ${sql.raw(type)})`;
    };
    const mapped = new Set(mapping.map(([t]) => t));
    const stamp = (names: readonly string[]): [string, RawBuilder<unknown>][] =>
      names
        .filter((n) => has(n) && !mapped.has(n) && (n !== 'modified_locally_at' || config.origin !== 'crm'))
        .map((n) => [n, sql.val(now)]);
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
    const ws = sql`${sql.table(input.table)} w`;
    const exists = sql`exists (select 1 from ${ws} where ${match} and ${keyed})`;

    const insert = (db: Kysely<LiaisonDatabase>, onlyNew: boolean) => {
      const extra = stamp(STAMPS);
      const targets = [...mapping.map(([t]) => t), ...extra.map(([t]) => t)];
      const values = [...mapping.map(([t, s]) => source(t, s)), ...extra.map(([, v]) => v)];
      const newOnly = onlyNew
        ? sql`where ${keyed} and not exists (select 1 from ${sql.table(config.table)} where ${match})`
        : keys.length > 0
          ? sql`where ${keyed}`
          : sql``;
      return sql`insert into ${sql.table(config.table)} (${columnList(targets)}) select ${sql.join(values)} from ${ws}
        ${newOnly} order by ${col('w', ROW_KEY)}`.execute(db);
    };
    const update = (db: Kysely<LiaisonDatabase>) => {
      const sets = [
        ...mapping.filter(([t]) => !keys.some(([k]) => k === t)).map(([t, s]) => sql`${sql.ref(t)} = ${source(t, s)}`),
        ...stamp(['modified_at', 'modified_locally_at']).map(([t, v]) => sql`${sql.ref(t)} = ${v}`),
      ];
      if (sets.length === 0) return Promise.resolve({ numAffectedRows: 0n });
      // An import never overwrites a row whose local change has not reached the CRM yet: local wins until exported
      // (an opt-out must not be undone by an older CRM value), and nothing is sent back that was not changed here.
      const pending =
        config.origin === 'crm' && has('modified_locally_at') && !mapped.has('modified_locally_at')
          ? sql` and ${col(config.table, 'modified_locally_at')} is null`
          : sql``;
      return sql`update ${sql.table(config.table)} set ${sql.join(sets)} from ${ws} where ${match} and ${keyed}${pending}`.execute(
        db,
      );
    };

    ctx.progress(0, input.count);
    let written = 0;
    await ctx.store.db.transaction().execute(async (trx) => {
      switch (config.operation) {
        case 'insert':
          written = affected(await insert(trx, false));
          break;
        case 'update':
          written = affected(await update(trx));
          break;
        case 'insert-or-update':
          written = affected(await update(trx));
          written += affected(await insert(trx, true));
          break;
        case 'delete':
          written = affected(await sql`delete from ${sql.table(config.table)} where ${exists}`.execute(trx));
          break;
        case 'mark-deleted': {
          const mark = config.markDeleted;
          if (!mark)
            throw new LiaisonError(
              'workflow_invalid',
              `activity "${ctx.activity}": mark-deleted needs markDeleted.column`,
            );
          requireColumn(target, mark.column, `table "${config.table}"`);
          const value = mark.value === undefined ? now : bindValue(mark.value, ctx.store.dialect);
          const sets = [
            sql`${sql.ref(mark.column)} = ${value}`,
            ...stamp(['modified_at', 'modified_locally_at']).map(([t, v]) => sql`${sql.ref(t)} = ${v}`),
          ];
          written = affected(
            await sql`update ${sql.table(config.table)} set ${sql.join(sets)} where ${exists}`.execute(trx),
          );
          break;
        }
      }
    });
    const rejects =
      keys.length > 0
        ? await countNullKeys(
            ctx.store.db,
            input.table,
            keys.map(([, s]) => s),
          )
        : 0;
    ctx.counters.recordsOut += written;
    ctx.counters.rejects += rejects;
    const list = columnList(input.columns.map((c) => c.name));
    const copy = (accepted: boolean) => (table: string) =>
      sql`insert into ${sql.table(table)} (${list}) select ${list} from ${ws}
        where ${accepted ? keyed : sql`not (${keyed})`} order by ${col('w', ROW_KEY)}`.execute(ctx.store.db);
    const outputs = {
      ...(await fillOutput(ctx, 'ok', input.columns, copy(true))),
      // Without keys nothing is rejected: the declared output is still produced, empty, for what follows.
      ...(await fillOutput(ctx, 'rejects', input.columns, copy(false))),
    };
    ctx.progress(input.count, input.count);
    return { outputs };
  },
};

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
