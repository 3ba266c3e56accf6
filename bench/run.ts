/**
 * `npm run bench [-- import | salesforce | dynamics | workflow]`. Without an argument (or `import`): the import
 * benchmark of the connector — full imports of 100,000 and 1,000,000 contacts from each sandbox into SQLite and
 * PostgreSQL, an incremental import of 1,000 changes among 1,000,000, the 100,000 imports again with 100 ms added
 * to every sandbox response, and for Salesforce into SQLite a hand-written baseline (jsforce + better-sqlite3) and
 * a ceiling (fetch and parse every page, store nothing). Prints a table and the targets met, and writes
 * bench/results.json. `salesforce` / `dynamics` run the driver benchmarks, `workflow` the workflow-engine one.
 *
 * Every sandbox runs in its own process and every measured client (import, baseline, ceiling) in a fresh one, so
 * the two cores are both used and each peak RSS is the client's own. LIAISON_BENCH_SCALE (default 1) scales the
 * record counts for a quick rehearsal; LIAISON_BENCH_PG_URL names the PostgreSQL server (tests' default otherwise).
 */
import { cpus, totalmem } from 'node:os';
import { runImportBench } from './import-bench.js';

async function main(): Promise<void> {
  const what = process.argv[2] ?? 'import';
  console.log(
    `machine: node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 1073741824)} GB RAM, ${process.platform}/${process.arch}`,
  );
  switch (what) {
    case 'import':
      await runImportBench();
      break;
    case 'salesforce': {
      const { benchSalesforceDriver } = await import('./salesforce-driver.js');
      await benchSalesforceDriver();
      break;
    }
    case 'dynamics': {
      const { benchDynamicsDriver } = await import('./dynamics-driver.js');
      await benchDynamicsDriver();
      break;
    }
    case 'workflow':
      // The module runs its benchmark when loaded.
      await import('./workflow-volume.js');
      break;
    default:
      throw new Error(`unknown benchmark "${what}": use import, salesforce, dynamics or workflow`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
