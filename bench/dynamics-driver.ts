/**
 * Dynamics driver benchmark: a full read of 100,000 contacts and a batched write of 100,000 against the in-process
 * Dataverse sandbox with 100 ms added latency (a CRM across the internet), compared with a naive client that
 * fetches one page after another over fresh connections. Prints records/s, API calls and peak RSS. The sandbox runs
 * in a worker thread (its own event loop, same process: RSS includes it); faults are set over its HTTPS admin API.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDynamicsDriver } from '../src/crm/dynamics/dynamics-driver.js';
import type { ConnectionSettings, CrmDriver, WriteItem } from '../src/crm/driver.js';
import { caBundle } from '../src/crm/http/tls.js';
import { Worker } from 'node:worker_threads';
import type { SandboxInfo } from '../src/sandbox/common/sandbox-types.js';

const RECORDS = 100_000;
const LATENCY_MS = 100;
const PAGE_SIZE = 5000;
const FIELDS = [
  'firstname',
  'lastname',
  'emailaddress1',
  'parentcustomerid',
  'lia_interests',
  'birthdate',
  'creditlimit',
];

interface Figures {
  label: string;
  records: number;
  seconds: number;
  apiCalls: number;
  peakRssMb: number;
}

async function measure(label: string, run: () => Promise<{ records: number; apiCalls: number }>): Promise<Figures> {
  let peak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 20);
  const started = performance.now();
  try {
    const { records, apiCalls } = await run();
    const seconds = (performance.now() - started) / 1000;
    return {
      label,
      records,
      seconds,
      apiCalls,
      peakRssMb: Math.round(Math.max(peak, process.memoryUsage().rss) / 1048576),
    };
  } finally {
    clearInterval(sampler);
  }
}

function settingsOf(sandbox: SandboxInfo): ConnectionSettings {
  const creds = sandbox.credentials['client-secret'] ?? {};
  const get = (camel: string, kebab: string) => creds[camel] ?? creds[kebab];
  return {
    kind: 'dynamics',
    url: sandbox.url,
    apiVersion: '9.2',
    caFile: sandbox.caFile,
    auth: {
      mode: 'client-secret',
      tenant: get('tenant', 'tenant'),
      authorityUrl: get('authorityUrl', 'authority-url'),
      clientId: get('clientId', 'client-id'),
      clientSecret: get('clientSecret', 'client-secret'),
    },
  };
}

/** One page after the other, a new TLS connection each time, no prefetch: what a first-draft client does. */
async function naiveRead(sandbox: SandboxInfo, token: string): Promise<{ records: number; apiCalls: number }> {
  const ca = caBundle(sandbox.caFile);
  let url: string | undefined =
    `${new URL(sandbox.url).origin}/api/data/v9.2/contacts?$select=${['contactid', 'modifiedon', ...FIELDS.map((f) => (f === 'parentcustomerid' ? '_parentcustomerid_value' : f))].join(',')}`;
  let records = 0;
  let calls = 0;
  while (url) {
    calls += 1;
    const body = await new Promise<string>((resolve, reject) => {
      https
        .get(
          url!,
          {
            ca,
            agent: false,
            headers: {
              Authorization: `Bearer ${token}`,
              Accept: 'application/json',
              Prefer: `odata.maxpagesize=${PAGE_SIZE}`,
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () =>
              res.statusCode === 200
                ? resolve(Buffer.concat(chunks).toString('utf8'))
                : reject(new Error(`HTTP ${res.statusCode}`)),
            );
            res.on('error', reject);
          },
        )
        .on('error', reject);
    });
    const page = JSON.parse(body) as { value: unknown[]; '@odata.nextLink'?: string };
    records += page.value.length;
    url = page['@odata.nextLink'];
  }
  return { records, apiCalls: calls };
}

async function driverRead(driver: CrmDriver): Promise<{ records: number; apiCalls: number }> {
  const before = driver.apiCalls;
  let records = 0;
  for await (const page of driver.query({ object: 'contact', fields: FIELDS, pageSize: PAGE_SIZE }))
    records += page.records.length;
  return { records, apiCalls: driver.apiCalls - before };
}

async function driverWrite(driver: CrmDriver): Promise<{ records: number; apiCalls: number }> {
  const before = driver.apiCalls;
  const size = driver.capabilities.maxBatchSize;
  let written = 0;
  let failed = 0;
  for (let start = 0; start < RECORDS; start += size) {
    const items: WriteItem[] = [];
    for (let i = start; i < Math.min(RECORDS, start + size); i++) {
      items.push({
        ref: String(i),
        values: {
          firstname: 'Bench',
          lastname: `Writer ${i}`,
          emailaddress1: `bench${i}@example.com`,
          lia_interests: ['100000000'],
          creditlimit: i % 1000,
        },
      });
    }
    const outcomes = await driver.writeBatch({ object: 'contact', operation: 'insert' }, items);
    for (const o of outcomes) {
      if (o.ok) written += 1;
      else failed += 1;
    }
  }
  if (failed) console.log(`  (${failed} writes rejected)`);
  return { records: written, apiCalls: driver.apiCalls - before };
}

function print(rows: Figures[]): void {
  console.log('| run | records | seconds | records/s | API calls | peak RSS MB |');
  console.log('|---|---:|---:|---:|---:|---:|');
  for (const r of rows) {
    console.log(
      `| ${r.label} | ${r.records} | ${r.seconds.toFixed(1)} | ${Math.round(r.records / r.seconds)} | ${r.apiCalls} | ${r.peakRssMb} |`,
    );
  }
}

/** PUT /_sandbox/faults on the worker's sandbox. */
async function setFaults(sandbox: SandboxInfo, faults: Record<string, unknown>): Promise<void> {
  const body = JSON.stringify(faults);
  await new Promise<void>((resolve, reject) => {
    const req = https.request(
      `${new URL(sandbox.url).origin}/_sandbox/faults`,
      { method: 'PUT', ca: caBundle(sandbox.caFile), headers: { 'Content-Type': 'application/json' } },
      (res) => {
        res.resume();
        res.on('end', () =>
          res.statusCode === 204 ? resolve() : reject(new Error(`setting faults: HTTP ${res.statusCode}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

function startWorkerSandbox(dataDir: string): Promise<{ sandbox: SandboxInfo; worker: Worker }> {
  const worker = new Worker(new URL('./dynamics-sandbox-worker.js', import.meta.url), {
    workerData: { records: RECORDS, dataDir },
  });
  return new Promise((resolve, reject) => {
    worker.once('message', (sandbox: SandboxInfo) => resolve({ sandbox, worker }));
    worker.once('error', reject);
  });
}

export async function benchDynamicsDriver(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'liaison-bench-dyn-'));
  const seedStart = performance.now();
  const { sandbox, worker } = await startWorkerSandbox(dir);
  console.log(
    `Dynamics sandbox seeded with ${RECORDS} contacts in ${((performance.now() - seedStart) / 1000).toFixed(1)} s; latency ${LATENCY_MS} ms per response`,
  );
  const driver = createDynamicsDriver(settingsOf(sandbox));
  const single = createDynamicsDriver(settingsOf(sandbox), { readParallelism: 1 });
  try {
    for (const d of [driver, single]) {
      await d.testConnection();
      await d.describeObject('contact');
    }
    await setFaults(sandbox, { latencyMs: LATENCY_MS });
    const rows: Figures[] = [];
    const token = await tokenOf(sandbox);
    rows.push(await measure('naive read (sequential, new connection per page)', () => naiveRead(sandbox, token)));
    rows.push(await measure('driver read (1 stream, next page prefetched)', () => driverRead(single)));
    rows.push(await measure('driver read (4 createdon windows, default)', () => driverRead(driver)));
    rows.push(await measure(`driver write ($batch ${driver.capabilities.maxBatchSize})`, () => driverWrite(driver)));
    print(rows);
    const [naive, one, four] = rows;
    if (naive && one && four) {
      console.log(
        `read speed-up over the naive client: 1 stream ${(naive.seconds / one.seconds).toFixed(2)}x, 4 windows ${(naive.seconds / four.seconds).toFixed(2)}x`,
      );
    }
  } finally {
    await single.close();
    await driver.close();
    await worker.terminate();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A token for the naive client, fetched the plain OAuth way. */
async function tokenOf(sandbox: SandboxInfo): Promise<string> {
  const s = settingsOf(sandbox);
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: s.auth.clientId ?? '',
    client_secret: s.auth.clientSecret ?? '',
    scope: `${new URL(sandbox.url).origin}/.default`,
  }).toString();
  const url = `${s.auth.authorityUrl}/${s.auth.tenant}/oauth2/v2.0/token`;
  const text = await new Promise<string>((resolve, reject) => {
    const req = https.request(
      url,
      {
        method: 'POST',
        ca: caBundle(sandbox.caFile),
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  return (JSON.parse(text) as { access_token: string }).access_token;
}
