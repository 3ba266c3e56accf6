import { rmSync } from 'node:fs';
import path from 'node:path';
import { AccountsService } from '../accounts/accounts-service.js';
import { loadSecretKey } from '../accounts/secret-box.js';
import type { CrmKind } from '../crm/driver.js';
import { startSandbox } from '../sandbox/index.js';
import type { SandboxHandle } from '../sandbox/common/sandbox-types.js';
import { openStore } from '../store/store-open.js';

export interface DemoOptions {
  /** Folder for the demo's store, key and sandbox files (recreated on each run). */
  dir: string;
  records: number;
  log: (line: string) => void;
}

export interface DemoStep {
  step: string;
  records?: number;
  rejects?: number;
  apiCalls: number;
  seconds: number;
}

const ACCOUNTS: { name: string; crm: CrmKind; auth: string }[] = [
  { name: 'salesforce', crm: 'salesforce', auth: 'client-credentials' },
  { name: 'dynamics', crm: 'dynamics', auth: 'client-secret' },
];

/**
 * The demo on the embedded defaults: both sandboxes in-process over HTTPS, a fresh SQLite store, the external
 * accounts, and their connection tests. Returns one line per step for the summary table.
 */
export async function runDemo(options: DemoOptions): Promise<{ steps: DemoStep[]; storeUrl: string }> {
  rmSync(options.dir, { recursive: true, force: true });
  const storeUrl = `sqlite:${path.join(options.dir, 'liaison.db')}`;
  const steps: DemoStep[] = [];
  const sandboxes: SandboxHandle[] = [];
  const store = await openStore(storeUrl);
  const accounts = new AccountsService(store, () => loadSecretKey({ keyFile: path.join(options.dir, 'secret.key') }));
  try {
    for (const account of ACCOUNTS) {
      let started = Date.now();
      options.log(`starting the ${account.crm} sandbox with ${options.records} contacts…`);
      const sandbox = await startSandbox(account.crm, { records: options.records, seed: 42, dataDir: path.join(options.dir, `${account.crm}-sandbox`) });
      sandboxes.push(sandbox);
      steps.push({ step: `start ${account.crm} sandbox`, records: options.records, apiCalls: 0, seconds: elapsed(started) });

      started = Date.now();
      const credentials = sandbox.credentials[account.auth] ?? {};
      await accounts.add({
        name: account.name,
        crm: account.crm,
        url: sandbox.url,
        auth: account.auth,
        clientId: credentials.clientId,
        tenant: credentials.tenant,
        authorityUrl: credentials.authorityUrl,
        caFile: sandbox.caFile,
        secrets: { clientSecret: credentials.clientSecret },
      });
      const test = await accounts.test(account.name);
      options.log(`account "${account.name}" connected as ${test.identity} (API ${test.apiVersion})`);
      steps.push({ step: `add + test account ${account.name}`, apiCalls: test.apiCalls, seconds: elapsed(started) });
    }
  } finally {
    await store.close();
    await Promise.all(sandboxes.map((sandbox) => sandbox.stop()));
  }
  return { steps, storeUrl };
}

function elapsed(since: number): number {
  return Math.round((Date.now() - since) / 10) / 100;
}
