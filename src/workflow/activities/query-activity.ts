import { sql } from 'kysely';
import { parseFilter } from '../../crm/filter-parse.js';
import { filterToSql } from '../../store/filter-sql.js';
import type { ActivityHandler } from '../activity.js';
import { countRows } from '../working-set.js';
import type { QueryConfig } from '../workflow-schema.js';
import { requireTableColumns } from '../workflow-tables.js';
import { columnList, fillOutput, requireColumn } from './activity-sql.js';

/** Selects records of a local table (filter, fields, order, limit) into the "ok" working set, inside the database. */
export const queryActivity: ActivityHandler<QueryConfig> = {
  async run(config, ctx) {
    const { store } = ctx;
    const source = await requireTableColumns(
      store,
      config.table,
      'create it (or fix "table") before running the workflow',
    );
    const columns = config.fields
      ? config.fields.map((f) => requireColumn(source, f, `table "${config.table}"`))
      : source;
    const names = new Set(source.map((c) => c.name));
    const where = config.filter
      ? filterToSql(parseFilter(config.filter, { resolveVar: (name) => ctx.vars.get(name) }), {
          dialect: store.dialect,
          columns: names,
        })
      : sql`1 = 1`;
    const order = (config.orderBy ?? []).map((item) => {
      const [name, direction] = item.trim().split(/\s+/);
      requireColumn(source, name!, `table "${config.table}"`);
      return direction?.toLowerCase() === 'desc' ? sql`${sql.ref(name!)} desc` : sql`${sql.ref(name!)} asc`;
    });
    const orderBy = order.length > 0 ? sql` order by ${sql.join(order)}` : sql``;
    const limit = config.limit !== undefined ? sql` limit ${config.limit}` : sql``;
    const list = columnList(columns.map((c) => c.name));
    ctx.progress(0);
    const outputs = await fillOutput(ctx, 'ok', columns, (table) =>
      sql`insert into ${sql.table(table)} (${list}) select ${list} from ${sql.table(config.table)} where ${where}${orderBy}${limit}`.execute(
        store.db,
      ),
    );
    const count = outputs.ok?.count ?? (await countRows(store, config.table));
    ctx.counters.recordsIn += count;
    ctx.progress(count, count);
    return { outputs };
  },
};
