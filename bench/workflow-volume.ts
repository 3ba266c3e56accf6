/**
 * Workflow engine benchmark: N records (default 1,000,000; LIAISON_BENCH_ROWS) through query → a streaming
 * activity that pages through its input and rewrites it (the shape of a CRM export/import hop) → deduplication →
 * update-data (insert-or-update on a key). Prints per-activity time, records/s and peak RSS, on SQLite and, when
 * LIAISON_BENCH_PG_URL is set, on PostgreSQL. Peak RSS staying flat as N grows is the point: working sets live in
 * the store, pages in memory.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openStore } from '../src/store/store-open.js';
import type { Store } from '../src/store/store-types.js';
import type { ActivityHandler } from '../src/workflow/activity.js';
import { builtinActivities } from '../src/workflow/activity-registry.js';
import { runWorkflow } from '../src/workflow/workflow-engine.js';
import { parseWorkflow } from '../src/workflow/workflow-load.js';

const ROWS = Number(process.env.LIAISON_BENCH_ROWS ?? 1_000_000);

const WORKFLOW = `
name: bench
activities:
  - name: read
    type: query
    table: bench_source
    transitions: { ok: stream }
  - name: stream
    type: union
    transitions: { ok: dedupe }
  - name: dedupe
    type: deduplication
    keys: [email]
    transitions: { ok: save }
  - name: save
    type: update-data
    table: bench_target
    operation: insert-or-update
    keys: [email]
`;

/** Pages through its input and writes every row to its output: what a CRM hop does with a working set. */
const stream: ActivityHandler = {
  async run(_config, ctx) {
    const input = ctx.inputs[0]!;
    const out = await ctx.createOutput('ok', input.columns);
    let done = 0;
    for await (const page of input.pages(5000)) {
      await out.write(page);
      done += page.length;
      ctx.progress(done, input.count);
    }
    return { outputs: { ok: await out.finish() } };
  },
};

async function bench(label: string, store: Store): Promise<void> {
  for (const name of ['bench_source', 'bench_target']) {
    await store.db.schema
      .createTable(name)
      .addColumn('n', 'integer')
      .addColumn('email', 'varchar(100)')
      .addColumn('city', 'text')
      .execute();
  }
  await sql`insert into bench_source (n, email, city)
    with recursive seq(n) as (select 1 union all select n + 1 from seq where n < ${ROWS})
    select n, 'user' || (n - n % 2) || '@example.com', 'city ' || (n % 100) from seq`.execute(store.db);
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 20);
  const started = performance.now();
  const workflow = await parseWorkflow(WORKFLOW, 'bench.yaml', store);
  const run = await runWorkflow(store, workflow, {
    registry: { ...builtinActivities, union: stream as ActivityHandler<never> },
  });
  const seconds = (performance.now() - started) / 1000;
  clearInterval(sampler);
  console.log(
    `${label}: ${ROWS} records, run ${run.status} in ${seconds.toFixed(1)}s (${Math.round(ROWS / seconds)} records/s end to end), peak RSS ${Math.round(peak / 1048576)} MB`,
  );
  for (const a of run.activities) {
    console.log(
      `  ${a.activity.padEnd(8)} in ${String(a.recordsIn).padStart(8)} out ${String(a.recordsOut).padStart(8)}  ${((a.durationMs ?? 0) / 1000).toFixed(1)}s`,
    );
  }
}

const dir = mkdtempSync(join(tmpdir(), 'liaison-bench-wf-'));
try {
  const sqlite = await openStore(`sqlite:${join(dir, 'bench.db')}`);
  try {
    await bench('sqlite', sqlite);
  } finally {
    await sqlite.close();
  }
  const pgUrl = process.env.LIAISON_BENCH_PG_URL;
  if (pgUrl) {
    const url = new URL(pgUrl);
    url.searchParams.set('schema', `bench_${Date.now()}`);
    const pg = await openStore(url.toString());
    try {
      await bench('postgres', pg);
      await sql`drop schema ${sql.id(pg.schema!)} cascade`.execute(pg.db);
    } finally {
      await pg.close();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
