/**
 * The benchmark's table and its targets (issue 7): Liaison ≥ 3× the hand-written baseline at 100 ms latency,
 * ≥ 50% of the ceiling at none, import API calls ≤ ceil(N / page size) + 10, export API calls ≤ ceil(N / 200) + 10
 * with collections (≤ 10 plus status polls with Bulk API 2.0), peak RSS under 200 MB for 1,000,000 records.
 */

/** One line of bench/results.json. */
export interface BenchRow {
  name: string;
  crm: string;
  store: string;
  latencyMs: number;
  records: number;
  seconds: number;
  recordsPerSecond: number;
  apiCalls: number;
  peakRssMb: number;
}

export interface ReportFacts {
  /** Requests the sandbox saw during each Liaison row's run, by kind (token, describe/metadata, query, bulk…). */
  countsByRow: Map<BenchRow, Record<string, number>>;
  pageSizes: Record<string, number>;
  small: number;
  large: number;
  changes: number;
  latencyMs: number;
}

const RSS_LIMIT_MB = 200;

export function printTable(rows: BenchRow[]): void {
  const header = ['name', 'crm', 'store', 'latency ms', 'records', 'seconds', 'records/s', 'API calls', 'peak RSS MB'];
  const cells = rows.map((r) => [
    r.name,
    r.crm,
    r.store,
    String(r.latencyMs),
    String(r.records),
    r.seconds.toFixed(1),
    String(r.recordsPerSecond),
    String(r.apiCalls),
    String(r.peakRssMb),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i < 3 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const c of cells) console.log(line(c));
}

function verdict(ok: boolean): string {
  return ok ? 'MET   ' : 'MISSED';
}

export function printReport(rows: BenchRow[], facts: ReportFacts): void {
  console.log('');
  printTable(rows);
  console.log('');
  console.log('targets:');
  const find = (prefix: string, crm: string, store: string, latencyMs: number) =>
    rows.find((r) => r.name.startsWith(prefix) && r.crm === crm && r.store === store && r.latencyMs === latencyMs);
  const baselineSlow = find('baseline', 'salesforce', 'sqlite', facts.latencyMs);
  const ceiling = find('ceiling', 'salesforce', 'none', 0);
  for (const store of ['sqlite', 'postgres']) {
    const slow = find('liaison full import (100k)', 'salesforce', store, facts.latencyMs);
    if (slow && baselineSlow) {
      const ratio = slow.recordsPerSecond / baselineSlow.recordsPerSecond;
      const binding = store === 'sqlite' ? '' : ' (informative: the baseline writes SQLite)';
      console.log(
        `  ${verdict(ratio >= 3)} Salesforce → ${store} at ${facts.latencyMs} ms: ${slow.recordsPerSecond}/s = ${ratio.toFixed(2)}× the baseline's ${baselineSlow.recordsPerSecond}/s (target ≥ 3×)${binding}`,
      );
    }
    const fast = find('liaison full import (100k)', 'salesforce', store, 0);
    if (fast && ceiling) {
      const share = fast.recordsPerSecond / ceiling.recordsPerSecond;
      const binding = store === 'sqlite' ? '' : ' (informative)';
      console.log(
        `  ${verdict(share >= 0.5)} Salesforce → ${store} at 0 ms: ${fast.recordsPerSecond}/s = ${(share * 100).toFixed(0)}% of the ceiling's ${ceiling.recordsPerSecond}/s (target ≥ 50%)${binding}`,
      );
    }
  }
  const baselineFast = find('baseline', 'salesforce', 'sqlite', 0);
  if (baselineFast && ceiling)
    console.log(
      `  (info) baseline at 0 ms: ${baselineFast.recordsPerSecond}/s = ${((baselineFast.recordsPerSecond / ceiling.recordsPerSecond) * 100).toFixed(0)}% of the ceiling`,
    );
  const kinds = (r: BenchRow) => JSON.stringify(facts.countsByRow.get(r) ?? {});
  for (const r of rows.filter((x) => x.name.startsWith('liaison') && x.name.includes('import'))) {
    const page = facts.pageSizes[r.crm] ?? 2000;
    const bound = Math.ceil(r.records / page) + 10;
    console.log(
      `  ${verdict(r.apiCalls <= bound)} API calls ${r.name}, ${r.crm} → ${r.store}, ${r.latencyMs} ms: ${r.apiCalls} ≤ ceil(${r.records}/${page}) + 10 = ${bound}; sandbox saw ${kinds(r)}`,
    );
  }
  for (const r of rows.filter((x) => x.name.startsWith('liaison') && x.name.includes('export'))) {
    if (r.name.includes('bulk')) {
      // A Bulk API 2.0 ingest job is create + upload + close + three result sets; its other bulk calls are polls.
      const polls = Math.max(0, (facts.countsByRow.get(r)?.bulk ?? 0) - 6);
      const others = r.apiCalls - polls;
      console.log(
        `  ${verdict(others <= 10)} API calls ${r.name}, ${r.crm}: ${r.apiCalls} = ${others} + ${polls} status polls (target ≤ 10 + polls); sandbox saw ${kinds(r)}`,
      );
    } else {
      const bound = Math.ceil(r.records / 200) + 10;
      console.log(
        `  ${verdict(r.apiCalls <= bound)} API calls ${r.name}, ${r.crm}: ${r.apiCalls} ≤ ceil(${r.records}/200) + 10 = ${bound}; sandbox saw ${kinds(r)}`,
      );
    }
  }
  for (const r of rows.filter((x) => x.records >= facts.large && x.name.startsWith('liaison'))) {
    console.log(
      `  ${verdict(r.peakRssMb < RSS_LIMIT_MB)} peak RSS ${r.name}, ${r.crm} → ${r.store}: ${r.peakRssMb} MB (target < ${RSS_LIMIT_MB} MB)`,
    );
  }
  const incremental = rows.filter((r) => r.name.includes('incremental'));
  for (const r of incremental) {
    if (r.records < facts.changes)
      console.log(
        `  MISSED incremental ${r.crm} → ${r.store}: ${r.records} records read, expected at least ${facts.changes}`,
      );
  }
}
