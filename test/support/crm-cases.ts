import { AccountsService } from '../../src/accounts/accounts-service.js';
import type { AccountInput } from '../../src/accounts/account-model.js';
import type { SecretKey } from '../../src/accounts/secret-box.js';
import type { SandboxHandle } from '../../src/sandbox/common/sandbox-types.js';
import { startDynamicsSandbox } from '../../src/sandbox/dynamics/index.js';
import { startSalesforceSandbox } from '../../src/sandbox/salesforce/index.js';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import { createCrmConnectorActivity } from '../../src/sync/connector-activity.js';
import { runWizard } from '../../src/wizard/wizard-service.js';
import { builtinActivities } from '../../src/workflow/activity-registry.js';
import type { ActivityRegistry } from '../../src/workflow/activity.js';

/** A fixed key so tests never touch a key file. */
export const testSecretKey = (): SecretKey => ({ key: Buffer.alloc(32, 5), source: 'test key' });

/**
 * The two CRMs as the connector tests see them: how to start the sandbox, the account that reaches it, and the
 * names of the contact object, its schema and a few fields. Tests loop over `CRM_CASES` so both CRMs run the same
 * assertions.
 */
export interface CrmCase {
  kind: 'salesforce' | 'dynamics';
  start(records: number, seed?: number): Promise<SandboxHandle>;
  account(sandbox: SandboxHandle, name?: string): AccountInput;
  object: string;
  schema: string;
  idColumn: 'salesforce_id' | 'dynamics_id';
  fields: { email: string; first: string; last: string; modstamp: string; externalId: string };
}

export const CRM_CASES: CrmCase[] = [
  {
    kind: 'salesforce',
    start: (records, seed = 11) => startSalesforceSandbox({ port: 0, records, seed }),
    account: (sb, name = 'salesforce') => {
      const c = sb.credentials['client-credentials']!;
      return {
        name,
        crm: 'salesforce',
        url: sb.url,
        auth: 'client-credentials',
        clientId: c.clientId,
        caFile: sb.caFile,
        secrets: { clientSecret: c.clientSecret },
      };
    },
    object: 'Contact',
    schema: 'crm:sfdcContact',
    idColumn: 'salesforce_id',
    fields: {
      email: 'Email',
      first: 'FirstName',
      last: 'LastName',
      modstamp: 'SystemModstamp',
      externalId: 'Customer_Number__c',
    },
  },
  {
    kind: 'dynamics',
    start: (records, seed = 11) => startDynamicsSandbox({ port: 0, records, seed }),
    account: (sb, name = 'dynamics') => {
      const c = sb.credentials['client-secret']!;
      return {
        name,
        crm: 'dynamics',
        url: sb.url,
        auth: 'client-secret',
        clientId: c.clientId,
        tenant: c.tenant,
        authorityUrl: c.authorityUrl,
        caFile: sb.caFile,
        secrets: { clientSecret: c.clientSecret },
      };
    },
    object: 'contact',
    schema: 'crm:dynContact',
    idColumn: 'dynamics_id',
    fields: {
      email: 'emailaddress1',
      first: 'firstname',
      last: 'lastname',
      modstamp: 'modifiedon',
      externalId: 'lia_customernumber',
    },
  },
];

/** A sandbox, a fresh store with the case's account and contact schema, and the registry with the connector. */
export interface ConnectorFixture {
  sandbox: SandboxHandle;
  store: Store;
  registry: ActivityRegistry;
  close(): Promise<void>;
}

export async function connectorFixture(
  c: CrmCase,
  storeUrl: string,
  records: number,
  seed?: number,
): Promise<ConnectorFixture> {
  const sandbox = await c.start(records, seed);
  const store = await openStore(storeUrl);
  const accounts = new AccountsService(store, testSecretKey);
  await accounts.add(c.account(sandbox));
  await runWizard({ store, accounts }, { account: c.kind, objects: [c.object] });
  const registry: ActivityRegistry = {
    ...builtinActivities,
    'crm-connector': createCrmConnectorActivity({ accounts: (s) => new AccountsService(s, testSecretKey) }),
  };
  return {
    sandbox,
    store,
    registry,
    close: async () => {
      await store.close();
      await sandbox.stop();
    },
  };
}

/** Full-then-incremental import of the case's contacts into `recipient` (the shape of examples/import-contacts-*.yaml). */
export function importContactsWorkflow(c: CrmCase, extra = ''): string {
  return `
name: import-${c.kind}
activities:
  - name: import
    type: crm-connector
    account: ${c.kind}
    object: "${c.schema}"
    operation: import
    incremental: true
    fields:
      - { crm: ${c.fields.email}, conversion: lower }
      - { crm: ${c.fields.first} }
      - { crm: ${c.fields.last} }
${extra}
    transitions: { ok: save }
  - name: save
    type: update-data
    table: recipient
    operation: insert-or-update
    keys: [${c.idColumn}]
    origin: crm
    mapping: { ${c.idColumn}: crm_id, email: ${c.fields.email.toLowerCase()}, first_name: ${c.fields.first.toLowerCase()}, last_name: ${c.fields.last.toLowerCase()} }
    transitions: { ok: done }
  - name: done
    type: end
`;
}
