import { sql } from 'kysely';
import type { ActivityHandler } from '../activity.js';
import { ROW_KEY } from '../working-set.js';
import type { DeduplicationConfig } from '../workflow-schema.js';
import { columnList, fillOutput, requireColumn, singleInput } from './activity-sql.js';

/**
 * Keeps one record per key (first or last by `orderBy`, then by arrival), with a window function so the work stays
 * in the database. Records with the same null key count as one group, as SQL partitions them.
 */
export const deduplicationActivity: ActivityHandler<DeduplicationConfig> = {
  async run(config, ctx) {
    const input = singleInput(ctx);
    const where = `the input of "${ctx.activity}"`;
    for (const key of config.keys) requireColumn(input.columns, key, where);
    if (config.orderBy) requireColumn(input.columns, config.orderBy, where);
    const direction = sql.raw(config.keep === 'last' ? 'desc' : 'asc');
    const orderItems = [
      ...(config.orderBy ? [sql`${sql.ref(config.orderBy)} ${direction}`] : []),
      sql`${sql.ref(ROW_KEY)} ${direction}`,
    ];
    const ranked = sql`(select ${sql.ref(ROW_KEY)}, ${columnList(input.columns.map((c) => c.name))},
      row_number() over (partition by ${columnList(config.keys)} order by ${sql.join(orderItems)}) as dedup_rank
      from ${sql.table(input.table)}) ranked`;
    const list = columnList(input.columns.map((c) => c.name));
    const fill = (keep: boolean) => (table: string) =>
      sql`insert into ${sql.table(table)} (${list}) select ${list} from ${ranked}
        where dedup_rank ${sql.raw(keep ? '=' : '>')} 1 order by ${sql.ref(ROW_KEY)}`.execute(ctx.store.db);
    ctx.progress(0, input.count);
    const outputs = {
      ...(await fillOutput(ctx, 'ok', input.columns, fill(true))),
      ...(await fillOutput(ctx, 'duplicates', input.columns, fill(false))),
    };
    ctx.progress(input.count, input.count);
    return { outputs };
  },
};
