/**
 * The two reference points of the Salesforce import, each in a fresh process (forked with an IPC channel):
 *
 * - baseline: what a capable user writes by hand — jsforce `conn.query(soql)` with autoFetch, streaming records
 *   into one prepared better-sqlite3 statement inside one transaction (the documented fast path). The sandbox CA
 *   is trusted through NODE_EXTRA_CA_CERTS, set by the parent when it forks this process (verification stays on).
 * - ceiling: every page of the same query fetched with plain https (keep-alive, the sandbox CA) and parsed with
 *   JSON.parse, one after another following nextRecordsUrl; nothing stored.
 *
 * Receives a {@link ReferenceJob}, answers a {@link ReferenceResult}, exits.
 */
import https from 'node:https';
import tls from 'node:tls';
import Database from 'better-sqlite3';
import jsforce from 'jsforce';
import { caBundle } from '../src/crm/http/tls.js';
import type { SandboxInfo } from '../src/sandbox/common/sandbox-types.js';

/** What the parent asks of a reference child. */
export interface ReferenceJob {
  mode: 'baseline' | 'ceiling';
  sandbox: SandboxInfo;
  /** Records expected (jsforce's maxFetch). */
  records: number;
  /** The SQLite file the baseline writes (a fresh path). */
  sqlitePath: string;
}

/** What a reference child reports (API calls are counted by the sandbox, in the parent). */
export interface ReferenceResult {
  records: number;
  seconds: number;
  peakRssMb: number;
  cpuSeconds: number;
}

const API_VERSION = '62.0';
export const REFERENCE_SOQL = 'SELECT Id, SystemModstamp, Email, FirstName, LastName FROM Contact';

interface SfContact {
  Id: string;
  Email: string | null;
  FirstName: string | null;
  LastName: string | null;
}

async function baseline(job: ReferenceJob): Promise<number> {
  const c = job.sandbox.credentials['client-credentials'] ?? {};
  const conn = new jsforce.Connection({
    oauth2: { loginUrl: job.sandbox.url, clientId: c.clientId ?? '', clientSecret: c.clientSecret ?? '' },
    version: API_VERSION,
  });
  await conn.authorize({ grant_type: 'client_credentials' });
  const db = new Database(job.sqlitePath);
  db.pragma('journal_mode = WAL');
  db.exec('create table recipient (salesforce_id text primary key, email text, first_name text, last_name text)');
  const insert = db.prepare('insert into recipient (salesforce_id, email, first_name, last_name) values (?, ?, ?, ?)');
  let records = 0;
  db.exec('begin');
  try {
    await new Promise<void>((resolve, reject) => {
      const query = conn.query<SfContact>(REFERENCE_SOQL);
      query.on('record', (r: SfContact) => {
        insert.run(r.Id, r.Email?.toLowerCase() ?? null, r.FirstName, r.LastName);
        records++;
      });
      query.on('end', () => resolve());
      query.on('error', reject);
      query.run({ autoFetch: true, maxFetch: job.records }).then(
        () => undefined,
        (error: unknown) => reject(error instanceof Error ? error : new Error(String(error))),
      );
    });
    db.exec('commit');
  } finally {
    if (db.inTransaction) db.exec('rollback');
    db.close();
  }
  return records;
}

async function ceiling(job: ReferenceJob): Promise<number> {
  // One secure context, built once, as a careful hand-written client would (see createHttpsAgent).
  const agent = new https.Agent({
    secureContext: tls.createSecureContext({ ca: caBundle(job.sandbox.caFile) ?? [] }),
    keepAlive: true,
  });
  const request = (method: string, url: string, headers: Record<string, string>, body?: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const req = https.request(url, { method, agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode === 200) resolve(text);
          else reject(new Error(`HTTP ${res.statusCode} on ${new URL(url).pathname}`));
        });
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
  try {
    const c = job.sandbox.credentials['client-credentials'] ?? {};
    const form = new URLSearchParams({
      grant_type: 'client_credentials',
      client_id: c.clientId ?? '',
      client_secret: c.clientSecret ?? '',
    }).toString();
    const token = JSON.parse(
      await request(
        'POST',
        `${job.sandbox.url}/services/oauth2/token`,
        { 'Content-Type': 'application/x-www-form-urlencoded' },
        form,
      ),
    ) as { access_token: string; instance_url: string };
    const headers = { Authorization: `Bearer ${token.access_token}`, Accept: 'application/json' };
    let next: string | undefined = `/services/data/v${API_VERSION}/query?q=${encodeURIComponent(REFERENCE_SOQL)}`;
    let records = 0;
    while (next) {
      const page = JSON.parse(await request('GET', `${token.instance_url}${next}`, headers)) as {
        records: unknown[];
        done: boolean;
        nextRecordsUrl?: string;
      };
      records += page.records.length;
      next = page.done ? undefined : page.nextRecordsUrl;
    }
    return records;
  } finally {
    agent.destroy();
  }
}

async function runJob(job: ReferenceJob): Promise<ReferenceResult> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const records = job.mode === 'baseline' ? await baseline(job) : await ceiling(job);
  const seconds = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    records,
    seconds,
    peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
    cpuSeconds: (used.user + used.system) / 1e6,
  };
}

if (process.send && /reference-child\.[jt]s$/.test(process.argv[1] ?? '')) {
  process.once('message', (job: ReferenceJob) => {
    runJob(job).then(
      (result) => process.send?.({ result }, () => process.exit(0)),
      (error: unknown) =>
        process.send?.({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () =>
          process.exit(1),
        ),
    );
  });
}
