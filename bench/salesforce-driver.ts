/**
 * Salesforce driver benchmark against the Salesforce sandbox with 100 ms added latency (an org across the internet):
 * a full query of 100,000 contacts (parallel modstamp slices, then one sequential prefetching locator, then jsforce
 * 3.10 autoFetch as the naive baseline), a collections write of 100,000 records and a Bulk API 2.0 write of 100,000
 * records. Prints records/s, API calls and the peak RSS of this (client) process.
 *
 * The sandbox runs in a child process: in-process, its single thread would serialise server and client work and
 * hide what the client does. The jsforce baseline runs in another child that trusts the sandbox CA through
 * NODE_EXTRA_CA_CERTS (verification stays on). API calls are the driver's own count (jsforce: the sandbox's count).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import https from 'node:https';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import type { ConnectionSettings, CrmDriver, WriteItem, WriteOutcome } from '../src/crm/driver.js';
import { caBundle } from '../src/crm/http/tls.js';
import { createSalesforceDriver, type SalesforceDriverOptions } from '../src/crm/salesforce/salesforce-driver.js';

const RECORDS = 100_000;
const LATENCY_MS = 100;
const PAGE_SIZE = 2000;
const WRITE_CONCURRENCY = 4;
const FIELDS = ['FirstName', 'LastName', 'Email', 'AccountId', 'Interests__c', 'Birthdate', 'Lifetime_Value__c'];

interface Figures {
  label: string;
  records: number;
  seconds: number;
  apiCalls: number;
  peakRssMb: number;
  /** CPU seconds this (client) process used, to tell client-bound from server-bound runs. */
  clientCpu: number;
}

async function measure(label: string, run: () => Promise<{ records: number; apiCalls: number }>): Promise<Figures> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const started = performance.now();
  const cpu = process.cpuUsage();
  try {
    const { records, apiCalls } = await run();
    const seconds = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const clientCpu = (used.user + used.system) / 1e6;
    return {
      label,
      records,
      seconds,
      apiCalls,
      peakRssMb: Math.round(Math.max(peak, process.memoryUsage().rss) / 1048576),
      clientCpu,
    };
  } finally {
    clearInterval(sampler);
  }
}

/** A sandbox in a child process, driven through its loopback admin API (`/_sandbox/...`). */
interface RemoteSandbox {
  url: string;
  caFile: string;
  credentials: Record<string, Record<string, string>>;
  admin(method: string, path: string, body?: unknown): Promise<unknown>;
  stop(): Promise<void>;
}

async function startRemoteSandbox(records: number): Promise<RemoteSandbox> {
  const module = new URL('../src/sandbox/salesforce/index.js', import.meta.url).href;
  const script = `
    const { startSalesforceSandbox } = await import(${JSON.stringify(module)});
    const sb = await startSalesforceSandbox({ records: ${records}, seed: 11 });
    console.log(JSON.stringify({ url: sb.url, caFile: sb.caFile, credentials: sb.credentials }));
    process.stdin.on('end', () => sb.stop().then(() => process.exit(0)));
    process.stdin.resume();
  `;
  // execArgv carries a TS loader when the bench runs from sources (tsx); from dist/ it is empty.
  const child: ChildProcess = spawn(process.execPath, [...process.execArgv, '--input-type=module', '-e', script], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const [first] = (await once(lines, 'line')) as [string];
  const info = JSON.parse(first) as Omit<RemoteSandbox, 'admin' | 'stop'>;
  const agent = new https.Agent({ ca: caBundle(info.caFile) ?? [] });
  const admin = (method: string, path: string, body?: unknown): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const req = https.request(
        `${info.url}/_sandbox/${path}`,
        { method, agent, headers: { 'Content-Type': 'application/json' } },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (text += chunk));
          res.on('end', () =>
            res.statusCode && res.statusCode < 300
              ? resolve(text ? (JSON.parse(text) as unknown) : undefined)
              : reject(new Error(`admin ${path}: HTTP ${res.statusCode} ${text}`)),
          );
        },
      );
      req.on('error', reject);
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  return {
    ...info,
    admin,
    stop: async () => {
      agent.destroy();
      child.stdin?.end();
      if (child.exitCode === null) await once(child, 'exit');
    },
  };
}

function settingsOf(sandbox: RemoteSandbox): ConnectionSettings {
  const c = sandbox.credentials['client-credentials'] ?? {};
  return {
    kind: 'salesforce',
    url: sandbox.url,
    apiVersion: '62.0',
    caFile: sandbox.caFile,
    auth: { mode: 'client-credentials', clientId: c.clientId, clientSecret: c.clientSecret },
  };
}

async function fullQuery(
  sandbox: RemoteSandbox,
  options: SalesforceDriverOptions,
): Promise<{ records: number; apiCalls: number }> {
  const driver = createSalesforceDriver(settingsOf(sandbox), options);
  try {
    let records = 0;
    const seen = new Set<string>();
    for await (const page of driver.query({ object: 'Contact', fields: FIELDS, pageSize: PAGE_SIZE })) {
      records += page.records.length;
      for (const r of page.records) seen.add(r.id);
    }
    if (seen.size !== records) throw new Error(`duplicates: ${records} records, ${seen.size} distinct`);
    return { records, apiCalls: driver.apiCalls };
  } finally {
    await driver.close();
  }
}

/** The naive baseline: jsforce autoFetch (one page after another), in a child process. */
async function jsforceQuery(sandbox: RemoteSandbox): Promise<{ records: number; apiCalls: number }> {
  const c = sandbox.credentials['client-credentials'] ?? {};
  const script = `
    import jsforce from 'jsforce';
    const body = new URLSearchParams({ grant_type: 'client_credentials', client_id: process.env.SF_ID, client_secret: process.env.SF_SECRET });
    const token = await (await fetch(process.env.SF_URL + '/services/oauth2/token', { method: 'POST', body })).json();
    const conn = new jsforce.Connection({ instanceUrl: token.instance_url, accessToken: token.access_token, version: '62.0' });
    const result = await conn.query(process.env.SF_SOQL, { autoFetch: true, maxFetch: 1000000, headers: { 'Sforce-Query-Options': 'batchSize=${PAGE_SIZE}' } });
    console.log(JSON.stringify({ records: result.records.length }));
  `;
  await sandbox.admin('DELETE', 'requests');
  const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
    cwd: process.cwd(),
    env: {
      ...process.env,
      NODE_EXTRA_CA_CERTS: sandbox.caFile,
      SF_URL: sandbox.url,
      SF_ID: c.clientId,
      SF_SECRET: c.clientSecret,
      SF_SOQL: `SELECT Id, SystemModstamp, ${FIELDS.join(', ')} FROM Contact`,
    },
    maxBuffer: 16 * 1024 * 1024,
  });
  const out = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as { records: number };
  const counted = (await sandbox.admin('GET', 'requests')) as { count: number };
  return { records: out.records, apiCalls: counted.count };
}

function writeItems(prefix: string): WriteItem[] {
  return Array.from({ length: RECORDS }, (_, i) => ({
    ref: `${prefix}${i}`,
    values: {
      LastName: `${prefix}${i}`,
      Email: `${prefix.toLowerCase()}${i}@bench.example`,
      Interests__c: ['Running'],
    },
  }));
}

async function collectionsWrite(driver: CrmDriver): Promise<{ records: number; apiCalls: number }> {
  const items = writeItems('Coll');
  const before = driver.apiCalls;
  let ok = 0;
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const batch = items.slice(next, next + driver.capabilities.maxBatchSize);
      next += batch.length;
      const outcomes = await driver.writeBatch({ object: 'Contact', operation: 'insert' }, batch);
      ok += outcomes.filter((o) => o.ok).length;
    }
  };
  await Promise.all(Array.from({ length: WRITE_CONCURRENCY }, worker));
  if (ok !== items.length) throw new Error(`collections write: ${ok} of ${items.length} ok`);
  return { records: ok, apiCalls: driver.apiCalls - before };
}

async function bulkWrite(driver: CrmDriver): Promise<{ records: number; apiCalls: number }> {
  async function* items(): AsyncGenerator<WriteItem> {
    for (let i = 0; i < RECORDS; i++)
      yield {
        ref: `Bulk${i}`,
        values: { LastName: `Bulk${i}`, Email: `bulk${i}@bench.example`, Interests__c: ['Running'] },
      };
  }
  const before = driver.apiCalls;
  let ok = 0;
  let outcomes = 0;
  for await (const o of driver.bulkWrite?.({ object: 'Contact', operation: 'insert' }, items()) ??
    ([] as WriteOutcome[])) {
    outcomes++;
    if (o.ok) ok++;
  }
  if (ok !== RECORDS) throw new Error(`bulk write: ${ok} of ${outcomes} ok`);
  return { records: ok, apiCalls: driver.apiCalls - before };
}

export async function benchSalesforceDriver(): Promise<void> {
  const seedStart = performance.now();
  const sandbox = await startRemoteSandbox(RECORDS);
  const contacts = ((await sandbox.admin('GET', 'records/Contact/count')) as { count: number }).count;
  console.log(
    `Salesforce sandbox (child process): ${contacts} contacts seeded in ${((performance.now() - seedStart) / 1000).toFixed(1)} s; ${LATENCY_MS} ms latency per call`,
  );
  await sandbox.admin('PUT', 'faults', { latencyMs: LATENCY_MS });
  const figures: Figures[] = [];
  try {
    figures.push(await measure('query, parallel slices (default)', () => fullQuery(sandbox, {})));
    figures.push(await measure('query, one prefetching locator', () => fullQuery(sandbox, { slices: { count: 1 } })));
    figures.push(await measure('query, jsforce autoFetch (baseline)', () => jsforceQuery(sandbox)));
    const driver = createSalesforceDriver(settingsOf(sandbox));
    try {
      await driver.describeObject('Contact');
      figures.push(
        await measure(`collections insert, ${WRITE_CONCURRENCY} batches in flight`, () => collectionsWrite(driver)),
      );
      figures.push(await measure('Bulk API 2.0 insert', () => bulkWrite(driver)));
    } finally {
      await driver.close();
    }
  } finally {
    await sandbox.stop();
  }
  console.log(
    'operation                                   records   seconds   records/s   API calls   peak RSS MB   client CPU s',
  );
  for (const f of figures) {
    console.log(
      `${f.label.padEnd(42)} ${String(f.records).padStart(8)} ${f.seconds.toFixed(1).padStart(9)} ${Math.round(
        f.records / f.seconds,
      )
        .toString()
        .padStart(
          11,
        )} ${String(f.apiCalls).padStart(11)} ${String(f.peakRssMb).padStart(13)} ${f.clientCpu.toFixed(1).padStart(14)}`,
    );
  }
  const sliced = figures[0];
  const naive = figures[2];
  if (sliced && naive)
    console.log(`query speed-up over jsforce autoFetch: ${(naive.seconds / sliced.seconds).toFixed(1)}x`);
}
