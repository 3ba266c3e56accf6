import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { AccountsService } from '../accounts/accounts-service.js';
import { loadSecretKey } from '../accounts/secret-box.js';
import type { CrmKind } from '../crm/driver.js';
import { syncEnumerations } from '../enumerations/enum-sync.js';
import { startSandbox } from '../sandbox/index.js';
import type { SandboxHandle } from '../sandbox/common/sandbox-types.js';
import { openStore } from '../store/store-open.js';
import type { Store } from '../store/store-types.js';
import { createCrmConnectorActivity } from '../sync/connector-activity.js';
import { runWizard } from '../wizard/wizard-service.js';
import { builtinActivities } from '../workflow/activity-registry.js';
import type { ActivityRegistry } from '../workflow/activity.js';
import type { RunView } from '../workflow/run-history.js';
import { runWorkflow, type RunEvent } from '../workflow/workflow-engine.js';
import { loadWorkflowFile } from '../workflow/workflow-load.js';

export interface DemoOptions {
  /** Folder for the demo's store, key and sandbox files (recreated on each run). */
  dir: string;
  records: number;
  log: (line: string) => void;
  /** Progress display for workflow runs (bars on a terminal); none by default. */
  progress?: () => { onEvent(event: RunEvent): void; stop(): void };
}

export interface DemoStep {
  step: string;
  records?: number;
  rejects?: number;
  apiCalls: number;
  seconds: number;
}

interface DemoCrm {
  crm: CrmKind;
  auth: string;
  object: string;
  idColumn: 'salesforce_id' | 'dynamics_id';
  firstName: string;
}

const CRMS: DemoCrm[] = [
  {
    crm: 'salesforce',
    auth: 'client-credentials',
    object: 'Contact',
    idColumn: 'salesforce_id',
    firstName: 'FirstName',
  },
  { crm: 'dynamics', auth: 'client-secret', object: 'contact', idColumn: 'dynamics_id', firstName: 'firstname' },
];

/**
 * The whole story on the embedded defaults, with nothing to install or start: both sandboxes in-process over
 * HTTPS, a fresh SQLite store, the external accounts, the wizard and enumeration sync, then the example workflows
 * of examples/: full and incremental imports, deletions, local opt-outs exported back with one deliberate reject,
 * an echo check, and deletions in the CRM from a local selection. Returns one line per step for the summary.
 */
export async function runDemo(
  options: DemoOptions,
): Promise<{ steps: DemoStep[]; storeUrl: string; examples: string }> {
  rmSync(options.dir, { recursive: true, force: true });
  const examples = examplesDir();
  const storeUrl = `sqlite:${path.join(options.dir, 'liaison.db')}`;
  const steps: DemoStep[] = [];
  const sandboxes = new Map<CrmKind, SandboxHandle>();
  const keyFile = path.join(options.dir, 'secret.key');
  const accountsOf = (store: Store) => new AccountsService(store, () => loadSecretKey({ keyFile }));
  const registry: ActivityRegistry = {
    ...builtinActivities,
    'crm-connector': createCrmConnectorActivity({ accounts: accountsOf }),
  };
  const store = await openStore(storeUrl);
  const accounts = accountsOf(store);
  const timed = async <T>(
    step: Omit<DemoStep, 'seconds' | 'apiCalls'> & { apiCalls?: number },
    work: () => Promise<T>,
    calls?: (result: T) => Partial<DemoStep>,
  ) => {
    const started = Date.now();
    const result = await work();
    steps.push({ apiCalls: 0, ...step, ...calls?.(result), seconds: Math.round((Date.now() - started) / 10) / 100 });
    return result;
  };
  /** Runs an example workflow; one summary row per CRM connector activity (what crossed the wire). */
  const run = async (file: string, label: string) => {
    const workflow = await loadWorkflowFile(path.join(examples, file), store);
    const progress = options.progress?.();
    options.log(`running examples/${file}`);
    let view: RunView;
    try {
      view = await runWorkflow(store, workflow, { registry, ...(progress ? { onEvent: progress.onEvent } : {}) });
    } finally {
      progress?.stop();
    }
    if (view.status !== 'succeeded') throw new Error(`${file} failed: ${view.error ?? 'unknown error'}`);
    for (const activity of view.activities.filter((a) => a.type === 'crm-connector')) {
      steps.push({
        step: `${label}: ${activity.activity}`,
        records: activity.recordsOut,
        rejects: activity.rejects,
        apiCalls: activity.apiCalls,
        seconds: Math.round((activity.durationMs ?? 0) / 10) / 100,
      });
    }
    return view;
  };

  try {
    for (const c of CRMS) {
      const sandbox = await timed({ step: `start ${c.crm} sandbox (HTTPS)`, records: options.records }, () =>
        startSandbox(c.crm, {
          records: options.records,
          seed: 42,
          dataDir: path.join(options.dir, `${c.crm}-sandbox`),
        }),
      );
      sandboxes.set(c.crm, sandbox);
      const credentials = sandbox.credentials[c.auth] ?? {};
      const test = await timed(
        { step: `account ${c.crm}: add + test` },
        async () => {
          await accounts.add({
            name: c.crm,
            crm: c.crm,
            url: sandbox.url,
            auth: c.auth,
            clientId: credentials.clientId,
            tenant: credentials.tenant,
            authorityUrl: credentials.authorityUrl,
            caFile: sandbox.caFile,
            secrets: { clientSecret: credentials.clientSecret },
          });
          return accounts.test(c.crm);
        },
        (t) => ({ apiCalls: t.apiCalls }),
      );
      options.log(`account "${c.crm}" connected as ${test.identity} (API ${test.apiVersion})`);
      await timed(
        { step: `wizard ${c.crm} (${c.object}) + enums sync` },
        async () => {
          await runWizard({ store, accounts }, { account: c.crm, objects: [c.object] });
          return syncEnumerations({ store, accounts }, { account: c.crm, all: true });
        },
        (items) => ({ records: items.length }),
      );
    }

    for (const c of CRMS) await run(`import-contacts-${c.crm}.yaml`, `${c.crm} full import`);
    // Dataverse change tracking knows deletions from its first read on: take the baseline now.
    await run('import-deleted-dynamics.yaml', 'dynamics deletion tracking baseline');

    // Changes and deletions made in each CRM, as sales would make them.
    for (const c of CRMS) {
      const sandbox = sandboxes.get(c.crm)!;
      const ids = sandbox.admin.listIds(c.object, 125);
      for (const id of ids.slice(0, 100)) sandbox.admin.updateRecord(c.object, id, { [c.firstName]: 'Updated' });
      // Backdated two minutes: Salesforce's replication API only reports minutes that have fully passed.
      for (const id of ids.slice(120, 125))
        sandbox.admin.deleteRecord(c.object, id, { at: new Date(Date.now() - 120_000) });
    }
    options.log('changed 100 and deleted 5 contacts in each CRM');
    for (const c of CRMS) await run(`import-contacts-${c.crm}.yaml`, `${c.crm} incremental import`);
    for (const c of CRMS) await run(`import-deleted-${c.crm}.yaml`, `${c.crm} deletions`);

    // Marketing changes: opt-outs on 20 recipients of each CRM, and one record the CRM will refuse.
    const yes = store.dialect === 'sqlite' ? 1 : true; // SQLite stores booleans as 0/1
    for (const c of CRMS) {
      const now = new Date().toISOString();
      await sql`update recipient set email_opt_out = ${yes}, modified_locally_at = ${now}
        where id in (select id from recipient where ${sql.ref(c.idColumn)} is not null order by id limit 20)`.execute(
        store.db,
      );
      await sql`update recipient set first_name = ${'X'.repeat(150)}, modified_locally_at = ${now}
        where id = (select max(id) from recipient where ${sql.ref(c.idColumn)} is not null)`.execute(store.db);
    }
    options.log('opted 20 recipients out of email for each CRM, and gave one an overlong first name');
    for (const c of CRMS) await run(`sync-contacts-${c.crm}.yaml`, `${c.crm} two-way sync`);
    for (const c of CRMS) await run(`sync-contacts-${c.crm}.yaml`, `${c.crm} sync again (echo check)`);

    // A local selection deleted in the CRM.
    for (const c of CRMS) {
      await sql`update recipient set email_opt_out = ${yes}, sms_opt_out = ${yes}
        where id in (select id from recipient where ${sql.ref(c.idColumn)} is not null order by id desc limit 3 offset 1)`.execute(
        store.db,
      );
    }
    for (const c of CRMS) await run(`delete-contacts-${c.crm}.yaml`, `${c.crm} delete a selection`);
  } finally {
    await store.close();
    await Promise.all([...sandboxes.values()].map((sandbox) => sandbox.stop()));
  }
  return { steps, storeUrl, examples };
}

/** examples/ of this package, from the source tree or the build. */
function examplesDir(): string {
  for (let dir = import.meta.dirname; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'examples', 'import-contacts-salesforce.yaml'))) return path.join(dir, 'examples');
  }
  throw new Error('the examples/ folder of the Liaison package is missing');
}
