import { sql } from 'kysely';
import type { ActivityHandler, ActivityResult } from '../activity.js';
import { ROW_KEY } from '../working-set.js';
import { mergeColumns } from '../workflow-check.js';
import type { EndConfig, UnionConfig } from '../workflow-schema.js';
import { columnList } from './activity-sql.js';

/** Concatenates every input (columns matched by name; missing ones are null), inputs in order, rows in order. */
export const unionActivity: ActivityHandler<UnionConfig> = {
  async run(_config, ctx): Promise<ActivityResult> {
    const columns = mergeColumns(ctx.inputs.map((input) => input.columns));
    if (!ctx.transitions.includes('ok')) return { outputs: {} };
    const table = await ctx.createOutputTable('ok', columns);
    let done = 0;
    const total = ctx.inputs.reduce((sum, input) => sum + input.count, 0);
    for (const input of ctx.inputs) {
      const list = columnList(input.columns.map((c) => c.name));
      await sql`insert into ${sql.table(table)} (${list}) select ${list} from ${sql.table(input.table)} order by ${sql.ref(ROW_KEY)}`.execute(
        ctx.store.db,
      );
      done += input.count;
      ctx.progress(done, total);
    }
    return { outputs: { ok: await ctx.finishOutput('ok') } };
  },
};

/** Ends a branch: consumes its input, produces nothing. */
export const endActivity: ActivityHandler<EndConfig> = {
  async run(_config, ctx) {
    const total = ctx.inputs.reduce((sum, input) => sum + input.count, 0);
    ctx.progress(total, total);
    return { outputs: {} };
  },
};
