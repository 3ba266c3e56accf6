/**
 * The import benchmark's plan (see run.ts): which sandboxes, which runs in which order, and the results file.
 * One 100,000-record and one 1,000,000-record sandbox process per CRM, each reused for all its runs; seeding is
 * reported but not part of any figure.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { runChild, startRemoteSandbox, type RemoteSandbox } from './bench-children.js';
import { printReport, type BenchRow } from './bench-report.js';
import { SHAPES, type CrmKind, type ImportJob, type ImportResult } from './import-child.js';
import type { ReferenceJob, ReferenceResult } from './reference-child.js';

const SCALE = Number(process.env.LIAISON_BENCH_SCALE ?? 1);
const SMALL = Math.round(100_000 * SCALE);
const LARGE = Math.round(1_000_000 * SCALE);
const CHANGES = Math.max(1, Math.round(1_000 * SCALE));
const LATENCY_MS = 100;
/** Runs of each compared measurement (Liaison into SQLite, baseline, ceiling); the table shows the median. */
const REPEATS = Math.max(1, Number(process.env.LIAISON_BENCH_REPEATS ?? 3));
const PG_URL = process.env.LIAISON_BENCH_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// LIAISON_BENCH_CRMS and LIAISON_BENCH_PARTS (small, large) narrow a rehearsal; the full run needs neither.
const KINDS = (process.env.LIAISON_BENCH_CRMS ?? 'salesforce,dynamics').split(',') as CrmKind[];
const PARTS = (process.env.LIAISON_BENCH_PARTS ?? 'small,large').split(',');
const STORES = ['sqlite', 'postgres'] as const;
type StoreKind = (typeof STORES)[number];

/** Fresh stores: SQLite files in one temp dir, PostgreSQL schemas dropped at the end. */
class Stores {
  private readonly schemas: string[] = [];
  private n = 0;
  constructor(readonly dir: string) {}
  fresh(kind: StoreKind): string {
    this.n++;
    if (kind === 'sqlite') return `sqlite:${join(this.dir, `bench-${this.n}.db`)}`;
    const schema = `bench_${process.pid}_${this.n}`;
    this.schemas.push(schema);
    const url = new URL(PG_URL);
    url.searchParams.set('schema', schema);
    return url.toString();
  }
  async dropAll(): Promise<void> {
    if (this.schemas.length === 0) return;
    const client = new pg.Client({ connectionString: PG_URL });
    await client.connect();
    try {
      for (const schema of this.schemas.splice(0)) await client.query(`drop schema if exists "${schema}" cascade`);
    } finally {
      await client.end();
    }
  }
}

/** The sandbox's request counts by kind during the last measured Liaison run, and those of every row. */
let lastCounts: Record<string, number> = {};
const countsByRow = new Map<BenchRow, Record<string, number>>();

async function liaisonImport(
  sandbox: RemoteSandbox,
  kind: CrmKind,
  storeUrl: string,
  setup: boolean,
  incremental: boolean,
): Promise<ImportResult> {
  if (setup)
    await runChild<ImportJob, ImportResult>('./import-child.js', {
      kind,
      storeUrl,
      sandbox: sandbox.info,
      setup,
      incremental,
      setupOnly: true,
    });
  await sandbox.call({ op: 'resetRequests' });
  const job: ImportJob = { kind, storeUrl, sandbox: sandbox.info, setup: false, incremental };
  const result = await runChild<ImportJob, ImportResult>('./import-child.js', job);
  lastCounts = (await sandbox.call({ op: 'requestCounts' })) as Record<string, number>;
  log(`  requests the sandbox saw, by kind: ${JSON.stringify(lastCounts)}`);
  if (result.status !== 'succeeded')
    throw new Error(`${kind} import into ${storeUrl.split(':')[0]} ${result.status}: ${result.error ?? ''}`);
  return result;
}

function liaisonRow(...args: Parameters<typeof row>): BenchRow {
  const made = row(...args);
  countsByRow.set(made, lastCounts);
  return made;
}

function row(
  name: string,
  crm: CrmKind,
  store: string,
  latencyMs: number,
  r: { records: number; seconds: number; peakRssMb: number },
  apiCalls: number,
): BenchRow {
  return {
    name,
    crm,
    store,
    latencyMs,
    records: r.records,
    seconds: Number(r.seconds.toFixed(2)),
    recordsPerSecond: Math.round(r.records / r.seconds),
    apiCalls,
    peakRssMb: r.peakRssMb,
  };
}

function log(text: string): void {
  console.log(`[${new Date().toISOString().slice(11, 19)}] ${text}`);
}

function logImport(label: string, r: ImportResult): void {
  log(
    `${label}: ${r.records} records (${r.written} written) in ${r.seconds.toFixed(1)} s = ${Math.round(r.records / r.seconds)}/s; import step ${r.importSeconds.toFixed(1)} s, save step ${r.saveSeconds.toFixed(1)} s; ${r.apiCalls} API calls; client CPU ${r.cpuSeconds.toFixed(1)} s; peak RSS ${r.peakRssMb} MB (V8 heap ≤ ${r.peakHeapMb} MB, buffers ≤ ${r.peakExternalMb} MB)`,
  );
}

/** The references' names in the table; the targets find them by their first word. */
const REFERENCE_NAMES: Record<ReferenceJob['mode'], string> = {
  baseline: 'baseline jsforce autoFetch + better-sqlite3 (100k)',
  ceiling: 'ceiling fetch + JSON.parse, no store (100k)',
};

/** One run of a reference client (Salesforce into SQLite by hand): the baseline or the ceiling. */
async function referenceRun(
  sandbox: RemoteSandbox,
  dir: string,
  latencyMs: number,
  mode: ReferenceJob['mode'],
  run: number,
): Promise<ReferenceResult & { apiCalls: number }> {
  await sandbox.call({ op: 'resetRequests' });
  const job: ReferenceJob = {
    mode,
    sandbox: sandbox.info,
    records: SMALL,
    sqlitePath: join(dir, `${mode}-${latencyMs}-${run}.db`),
  };
  // NODE_EXTRA_CA_CERTS is how a jsforce user trusts a private CA: the CA file exists before the child starts.
  const result = await runChild<ReferenceJob, ReferenceResult>('./reference-child.js', job, {
    ...process.env,
    NODE_EXTRA_CA_CERTS: sandbox.info.caFile,
  });
  const apiCalls = Number(await sandbox.call({ op: 'requests' }));
  log(
    `${REFERENCE_NAMES[mode]} at ${latencyMs} ms (run ${run}): ${result.records} records in ${result.seconds.toFixed(1)} s = ${Math.round(result.records / result.seconds)}/s; ${apiCalls} requests; client CPU ${result.cpuSeconds.toFixed(1)} s; peak RSS ${result.peakRssMb} MB`,
  );
  if (result.records !== SMALL) throw new Error(`${mode}: ${result.records} records, expected ${SMALL}`);
  return { ...result, apiCalls };
}

/**
 * The run whose time is the median of `runs`, with the highest peak RSS of them all (the conservative figure):
 * the runs compared with each other (Liaison into SQLite, the baseline, the ceiling) are repeated, interleaved,
 * so that a machine busy with something else for a moment does not decide a target.
 */
function medianRun<T extends { seconds: number; peakRssMb: number }>(runs: T[]): T {
  const sorted = [...runs].sort((a, b) => a.seconds - b.seconds);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, peakRssMb: Math.max(...runs.map((r) => r.peakRssMb)) };
}

async function smallRuns(kind: CrmKind, dir: string, stores: Stores, rows: BenchRow[]): Promise<void> {
  const sandbox = await startRemoteSandbox(kind, SMALL, 11, mkdtempSync(join(dir, `${kind}-small-`)));
  log(`${kind} sandbox: ${SMALL} contacts seeded in ${sandbox.seedSeconds.toFixed(1)} s (own process)`);
  try {
    let imported: string | undefined;
    for (const latencyMs of [0, LATENCY_MS]) {
      await sandbox.call({ op: 'latency', latencyMs });
      // Salesforce into SQLite is what the targets compare with the references: repeated, interleaved with them.
      const repeats = kind === 'salesforce' ? REPEATS : 1;
      const modes: ReferenceJob['mode'][] =
        kind !== 'salesforce' ? [] : latencyMs === 0 ? ['baseline', 'ceiling'] : ['baseline'];
      const sqliteRuns: ImportResult[] = [];
      const referenceRuns = new Map(modes.map((mode) => [mode, [] as (ReferenceResult & { apiCalls: number })[]]));
      for (let run = 1; run <= repeats; run++) {
        const url = stores.fresh('sqlite');
        const r = await liaisonImport(sandbox, kind, url, true, false);
        logImport(`${kind} → sqlite, full import of ${SMALL}, ${latencyMs} ms${repeats > 1 ? ` (run ${run})` : ''}`, r);
        sqliteRuns.push(r);
        if (latencyMs === 0) imported ??= url;
        for (const mode of modes) referenceRuns.get(mode)!.push(await referenceRun(sandbox, dir, latencyMs, mode, run));
      }
      const sqlite = medianRun(sqliteRuns);
      rows.push(liaisonRow('liaison full import (100k)', kind, 'sqlite', latencyMs, sqlite, sqlite.apiCalls));
      for (const [mode, runs] of referenceRuns) {
        const median = medianRun(runs);
        rows.push(
          row(
            REFERENCE_NAMES[mode],
            'salesforce',
            mode === 'baseline' ? 'sqlite' : 'none',
            latencyMs,
            median,
            median.apiCalls,
          ),
        );
      }
      const url = stores.fresh('postgres');
      const r = await liaisonImport(sandbox, kind, url, true, false);
      logImport(`${kind} → postgres, full import of ${SMALL}, ${latencyMs} ms`, r);
      rows.push(liaisonRow('liaison full import (100k)', kind, 'postgres', latencyMs, r, r.apiCalls));
    }
    // Exports at no added latency, from the SQLite store the first import filled (its recipients hold the CRM ids).
    await sandbox.call({ op: 'latency', latencyMs: 0 });
    const modes: ('batches' | 'bulk')[] = kind === 'salesforce' ? ['batches', 'bulk'] : ['batches'];
    for (const mode of modes) {
      if (!imported) break;
      await sandbox.call({ op: 'resetRequests' });
      const r = await runChild<ImportJob, ImportResult>('./import-child.js', {
        kind,
        storeUrl: imported,
        sandbox: sandbox.info,
        setup: false,
        incremental: false,
        export: mode,
      });
      if (r.status !== 'succeeded') throw new Error(`${kind} export (${mode}) ${r.status}: ${r.error ?? ''}`);
      logImport(`${kind} export of ${SMALL} updates (${mode}) from sqlite`, r);
      lastCounts = (await sandbox.call({ op: 'requestCounts' })) as Record<string, number>;
      log(`  requests the sandbox saw, by kind: ${JSON.stringify(lastCounts)}`);
      rows.push(
        liaisonRow(
          mode === 'bulk' ? 'liaison export update, bulk API (100k)' : 'liaison export update, batches (100k)',
          kind,
          'sqlite',
          0,
          r,
          r.apiCalls,
        ),
      );
    }
  } finally {
    await sandbox.stop();
  }
}

async function largeRuns(kind: CrmKind, dir: string, stores: Stores, rows: BenchRow[]): Promise<void> {
  const sandbox = await startRemoteSandbox(kind, LARGE, 12, mkdtempSync(join(dir, `${kind}-large-`)));
  log(`${kind} sandbox: ${LARGE} contacts seeded in ${sandbox.seedSeconds.toFixed(1)} s (own process)`);
  try {
    await sandbox.call({ op: 'latency', latencyMs: 0 });
    const urls = new Map<StoreKind, string>();
    // Both full imports first, then one set of changes that both incremental imports read.
    for (const store of STORES) {
      const url = stores.fresh(store);
      urls.set(store, url);
      const r = await liaisonImport(sandbox, kind, url, true, true);
      logImport(`${kind} → ${store}, full import of ${LARGE}`, r);
      rows.push(liaisonRow('liaison full import (1M)', kind, store, 0, r, r.apiCalls));
    }
    // Stamped a second ahead so the changes are strictly after every watermark (whole-second CRM clocks).
    const at = new Date(Date.now() + 1000).toISOString();
    const touched = await sandbox.call({
      op: 'touch',
      object: SHAPES[kind].object,
      field: SHAPES[kind].first,
      count: CHANGES,
      total: LARGE,
      at,
    });
    await new Promise((resolve) => setTimeout(resolve, 1100));
    for (const store of STORES) {
      const r = await liaisonImport(sandbox, kind, urls.get(store)!, false, true);
      logImport(`${kind} → ${store}, incremental import (${String(touched)} changed of ${LARGE})`, r);
      rows.push(liaisonRow('liaison incremental import (1k changes of 1M)', kind, store, 0, r, r.apiCalls));
    }
  } finally {
    await sandbox.stop();
  }
}

export async function runImportBench(): Promise<void> {
  const started = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'liaison-bench-'));
  const stores = new Stores(dir);
  const rows: BenchRow[] = [];
  const pageSizes: Record<CrmKind, number> = { salesforce: 2000, dynamics: 5000 };
  try {
    if (PARTS.includes('small')) for (const kind of KINDS) await smallRuns(kind, dir, stores, rows);
    if (PARTS.includes('large')) for (const kind of KINDS) await largeRuns(kind, dir, stores, rows);
  } finally {
    await stores
      .dropAll()
      .catch((error: unknown) => console.error(`could not drop the bench schemas: ${String(error)}`));
    rmSync(dir, { recursive: true, force: true });
    const file = fileURLToPath(new URL('../../bench/results.json', import.meta.url));
    writeFileSync(file, JSON.stringify(rows, null, 2) + '\n');
    printReport(rows, { countsByRow, pageSizes, small: SMALL, large: LARGE, changes: CHANGES, latencyMs: LATENCY_MS });
    console.log(`results: ${file}; whole benchmark ${((performance.now() - started) / 60000).toFixed(1)} min`);
  }
}
