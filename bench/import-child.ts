/**
 * One Liaison import in a fresh process (forked with an IPC channel), so its peak RSS is its own and peaks of
 * earlier runs do not accumulate. Receives an {@link ImportJob}, answers an {@link ImportResult}, exits.
 *
 * With `setup`, it first registers the account and runs the wizard on the (fresh) store; the timed part is the
 * workflow run only: crm-connector import → update-data insert-or-update into `recipient` on the CRM id.
 */
import pg from 'pg';
import { AccountsService } from '../src/accounts/accounts-service.js';
import type { AccountInput } from '../src/accounts/account-model.js';
import type { SecretKey } from '../src/accounts/secret-box.js';
import type { SandboxInfo } from '../src/sandbox/common/sandbox-types.js';
import { errorMessage } from '../src/core/errors.js';
import { enableCollectionBetweenBatches } from '../src/core/memory.js';
import { openStore } from '../src/store/store-open.js';
import type { Store } from '../src/store/store-types.js';
import { createCrmConnectorActivity } from '../src/sync/connector-activity.js';
import { runWizard } from '../src/wizard/wizard-service.js';
import { builtinActivities } from '../src/workflow/activity-registry.js';
import { runWorkflow } from '../src/workflow/workflow-engine.js';
import { parseWorkflow } from '../src/workflow/workflow-load.js';

export type CrmKind = 'salesforce' | 'dynamics';

/** What the parent asks of one import child. */
export interface ImportJob {
  kind: CrmKind;
  storeUrl: string;
  sandbox: SandboxInfo;
  /** Register the account and run the wizard first (a fresh store). */
  setup: boolean;
  incremental: boolean;
  /** Only register the account and run the wizard (so the measured run's sandbox counts hold its calls alone). */
  setupOnly?: boolean;
  /** Instead of an import: export every recipient with a CRM id as an update, in batches or through the bulk API. */
  export?: 'batches' | 'bulk';
}

/** What an import child reports. */
export interface ImportResult {
  status: string;
  error?: string;
  records: number;
  written: number;
  seconds: number;
  /** Seconds of the import activity alone and of the update-data step alone. */
  importSeconds: number;
  saveSeconds: number;
  apiCalls: number;
  peakRssMb: number;
  cpuSeconds: number;
  /** Peaks of V8's heap and of memory outside it (buffers), sampled every 25 ms. */
  peakHeapMb: number;
  peakExternalMb: number;
}

const benchKey = (): SecretKey => ({ key: Buffer.alloc(32, 1), source: 'bench' });

interface CrmShape {
  object: string;
  schema: string;
  email: string;
  first: string;
  last: string;
  idColumn: string;
  account(info: SandboxInfo): AccountInput;
}

export const SHAPES: Record<CrmKind, CrmShape> = {
  salesforce: {
    object: 'Contact',
    schema: 'crm:sfdcContact',
    email: 'Email',
    first: 'FirstName',
    last: 'LastName',
    idColumn: 'salesforce_id',
    account: (info) => {
      const c = info.credentials['client-credentials'] ?? {};
      return {
        name: 'salesforce',
        crm: 'salesforce',
        url: info.url,
        auth: 'client-credentials',
        clientId: c.clientId ?? '',
        caFile: info.caFile,
        secrets: { clientSecret: c.clientSecret ?? '' },
      };
    },
  },
  dynamics: {
    object: 'contact',
    schema: 'crm:dynContact',
    email: 'emailaddress1',
    first: 'firstname',
    last: 'lastname',
    idColumn: 'dynamics_id',
    account: (info) => {
      const c = info.credentials['client-secret'] ?? {};
      return {
        name: 'dynamics',
        crm: 'dynamics',
        url: info.url,
        auth: 'client-secret',
        clientId: c.clientId ?? '',
        tenant: c.tenant ?? '',
        authorityUrl: c.authorityUrl ?? '',
        caFile: info.caFile,
        secrets: { clientSecret: c.clientSecret ?? '' },
      };
    },
  },
};

/** The import workflow of the benchmark; one name per CRM so the incremental run finds the full run's watermark. */
export function importWorkflow(kind: CrmKind, incremental: boolean): string {
  const s = SHAPES[kind];
  return `
name: bench-import-${kind}
activities:
  - name: import
    type: crm-connector
    account: ${kind}
    object: "${s.schema}"
    operation: import
    incremental: ${incremental}
    fields:
      - { crm: ${s.email}, conversion: lower }
      - { crm: ${s.first} }
      - { crm: ${s.last} }
    transitions: { ok: save }
  - name: save
    type: update-data
    table: recipient
    operation: insert-or-update
    keys: [${s.idColumn}]
    origin: crm
    mapping: { ${s.idColumn}: crm_id, email: ${s.email.toLowerCase()}, first_name: ${s.first.toLowerCase()}, last_name: ${s.last.toLowerCase()} }
    transitions: { ok: done }
  - name: done
    type: end
`;
}

/**
 * Kysely's migrator lists the tables of every PostgreSQL schema; when tests drop their schemas at that moment
 * (other work on the same server) the listing fails. That is not the run being measured: try again, starting a
 * fresh schema over (its first migration may have been cut half-way).
 */
async function openWithRetry(url: string, fresh: boolean): Promise<Store> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await openStore(url);
    } catch (error) {
      if (
        attempt >= 5 ||
        !url.startsWith('postgres') ||
        !/does not exist|not a Liaison store/.test(errorMessage(error))
      )
        throw error;
      if (fresh) {
        const target = new URL(url);
        const schema = target.searchParams.get('schema') ?? '';
        target.search = '';
        const client = new pg.Client({ connectionString: target.toString() });
        await client.connect();
        await client.query(`drop schema if exists "${schema.replace(/"/g, '""')}" cascade`).finally(() => client.end());
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}

/** The export workflow: every recipient holding a CRM id, sent back as an update of first and last name. */
export function exportWorkflow(kind: CrmKind, bulk: 'batches' | 'bulk'): string {
  const s = SHAPES[kind];
  return `
name: bench-export-${kind}-${bulk}
activities:
  - name: pick
    type: query
    table: recipient
    filter: "${s.idColumn} is not null"
    transitions: { ok: export }
  - name: export
    type: crm-connector
    account: ${kind}
    object: "${s.schema}"
    operation: export
    mode: update
    idColumn: ${s.idColumn}
    bulk: ${bulk === 'bulk' ? 'always' : 'never'}
    mapping: { ${s.first}: upper(first_name), ${s.last}: last_name }
    transitions: { ok: done }
  - name: done
    type: end
`;
}

async function runJob(job: ImportJob): Promise<ImportResult> {
  const store = await openWithRetry(job.storeUrl, job.setup);
  try {
    const accounts = new AccountsService(store, benchKey);
    if (job.setup) {
      await accounts.add(SHAPES[job.kind].account(job.sandbox));
      await runWizard({ store, accounts }, { account: job.kind, objects: [SHAPES[job.kind].object] });
    }
    if (job.setupOnly) {
      return {
        status: 'succeeded',
        records: 0,
        written: 0,
        seconds: 0,
        importSeconds: 0,
        saveSeconds: 0,
        apiCalls: 0,
        peakRssMb: 0,
        cpuSeconds: 0,
        peakHeapMb: 0,
        peakExternalMb: 0,
      };
    }
    const registry = {
      ...builtinActivities,
      'crm-connector': createCrmConnectorActivity({ accounts: (s) => new AccountsService(s, benchKey) }),
    };
    const text = job.export ? exportWorkflow(job.kind, job.export) : importWorkflow(job.kind, job.incremental);
    const workflow = await parseWorkflow(text, 'bench.yaml', store);
    // Where the peak comes from: V8's heap (JS objects) or memory outside it (buffers, SQLite, TLS).
    const memory = { heapTotal: 0, external: 0 };
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      memory.heapTotal = Math.max(memory.heapTotal, m.heapTotal);
      memory.external = Math.max(memory.external, m.external + m.arrayBuffers);
    }, 25);
    const cpu = process.cpuUsage();
    const started = performance.now();
    const run = await runWorkflow(store, workflow, { registry });
    const seconds = (performance.now() - started) / 1000;
    clearInterval(sampler);
    const used = process.cpuUsage(cpu);
    const step = run.activities.find((a) => a.activity === (job.export ? 'export' : 'import'));
    const save = run.activities.find((a) => a.activity === (job.export ? 'pick' : 'save'));
    return {
      status: run.status,
      ...(run.error ? { error: run.error } : {}),
      records: step?.recordsOut ?? 0,
      written: save?.recordsOut ?? 0,
      seconds,
      importSeconds: (step?.durationMs ?? 0) / 1000,
      saveSeconds: (save?.durationMs ?? 0) / 1000,
      apiCalls: step?.apiCalls ?? 0,
      // maxRSS is in kilobytes: the peak of this whole process, which only ever runs this one import.
      peakRssMb: Math.round(process.resourceUsage().maxRSS / 1024),
      cpuSeconds: (used.user + used.system) / 1e6,
      peakHeapMb: Math.round(memory.heapTotal / 1048576),
      peakExternalMb: Math.round(memory.external / 1048576),
    };
  } finally {
    await store.close();
  }
}

if (process.send && /import-child\.[jt]s$/.test(process.argv[1] ?? '')) {
  // As the CLI runs (src/cli/main.ts): the measured run is Liaison as users run it.
  enableCollectionBetweenBatches();
  process.once('message', (job: ImportJob) => {
    runJob(job).then(
      (result) => process.send?.({ result }, () => process.exit(0)),
      (error: unknown) =>
        process.send?.({ error: error instanceof Error ? (error.stack ?? error.message) : String(error) }, () =>
          process.exit(1),
        ),
    );
  });
}
