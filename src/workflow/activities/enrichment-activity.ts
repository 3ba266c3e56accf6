import { sql } from 'kysely';
import type { ActivityHandler } from '../activity.js';
import { ROW_KEY } from '../working-set.js';
import type { EnrichmentConfig } from '../workflow-schema.js';
import { requireTableColumns, type ColumnInfo } from '../workflow-tables.js';
import { col, columnList, fillOutput, requireColumn, singleInput } from './activity-sql.js';

/**
 * Adds columns read from a local table, matched on keys (e.g. link imported contacts to their local account).
 * Each added column is a correlated sub-select taking one match, so a non-unique key never multiplies records.
 */
export const enrichmentActivity: ActivityHandler<EnrichmentConfig> = {
  async run(config, ctx) {
    const input = singleInput(ctx);
    const joined = await requireTableColumns(ctx.store, config.table, 'create it before running the workflow');
    const on = Object.entries(config.on);
    for (const [wsColumn, tableColumn] of on) {
      requireColumn(input.columns, wsColumn, `the input of "${ctx.activity}"`);
      requireColumn(joined, tableColumn, `table "${config.table}"`);
    }
    const added: ColumnInfo[] = Object.entries(config.fields).map(([name, from]) => ({
      ...requireColumn(joined, from, `table "${config.table}"`),
      name,
    }));
    const match = sql.join(
      on.map(([wsColumn, tableColumn]) => sql`${col('j', tableColumn)} = ${col('w', wsColumn)}`),
      sql` and `,
    );
    const lookups = Object.entries(config.fields).map(
      ([name, from]) =>
        sql`(select ${col('j', from)} from ${sql.table(config.table)} j where ${match} limit 1) as ${sql.ref(name)}`,
    );
    const exists = sql`exists (select 1 from ${sql.table(config.table)} j where ${match})`;
    const inputNames = input.columns.map((c) => c.name);
    const wsList = sql.join(inputNames.map((name) => col('w', name)));
    const outColumns = [...input.columns, ...added];
    const source = sql`${sql.table(input.table)} w`;
    ctx.progress(0, input.count);
    const outputs = {
      ...(await fillOutput(ctx, 'ok', outColumns, (table) =>
        sql`insert into ${sql.table(table)} (${columnList(outColumns.map((c) => c.name))})
          select ${wsList}, ${sql.join(lookups)} from ${source}
          ${config.join === 'inner' ? sql`where ${exists}` : sql``} order by ${col('w', ROW_KEY)}`.execute(
          ctx.store.db,
        ),
      )),
      ...(await fillOutput(ctx, 'unmatched', input.columns, (table) =>
        sql`insert into ${sql.table(table)} (${columnList(inputNames)}) select ${wsList} from ${source}
          where not ${exists} order by ${col('w', ROW_KEY)}`.execute(ctx.store.db),
      )),
    };
    ctx.progress(input.count, input.count);
    return { outputs };
  },
};
