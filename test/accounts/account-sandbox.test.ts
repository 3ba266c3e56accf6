import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccountsService } from '../../src/accounts/accounts-service.js';
import type { AccountInput } from '../../src/accounts/account-model.js';
import type { SandboxHandle } from '../../src/sandbox/common/sandbox-types.js';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import { CRM_CASES, testSecretKey } from '../support/crm-cases.js';
import { sqliteTarget } from '../support/store-targets.js';

/** `account add` + `account test` against each sandbox over HTTPS, for every auth mode each CRM offers. */
const MODES: Record<string, string[]> = {
  salesforce: ['client-credentials', 'jwt', 'password'],
  dynamics: ['client-secret', 'certificate', 'password'],
};

function input(kind: string, mode: string, sandbox: SandboxHandle): AccountInput {
  const c = sandbox.credentials[mode]!;
  return {
    name: `${kind}-${mode}`,
    crm: kind,
    url: sandbox.url,
    auth: mode,
    clientId: c.clientId,
    username: c.username,
    tenant: c.tenant,
    authorityUrl: c.authorityUrl,
    privateKeyFile: c.privateKeyFile,
    certificateFile: c.certificateFile,
    caFile: sandbox.caFile,
    secrets: { clientSecret: c.clientSecret, password: c.password, securityToken: c.securityToken },
  };
}

for (const crm of CRM_CASES) {
  describe(`external accounts against the ${crm.kind} sandbox`, () => {
    let sandbox: SandboxHandle;
    let store: Store;
    let accounts: AccountsService;
    beforeAll(async () => {
      sandbox = await crm.start(10);
      store = await openStore(sqliteTarget().freshUrl());
      accounts = new AccountsService(store, testSecretKey);
    });
    afterAll(async () => {
      await store?.close();
      await sandbox?.stop();
    });

    for (const mode of MODES[crm.kind]!) {
      it(`adds and tests an account with --auth ${mode}`, async () => {
        const added = await accounts.add(input(crm.kind, mode, sandbox));
        expect(added.warnings.length > 0).toBe(mode === 'password');
        const result = await accounts.test(`${crm.kind}-${mode}`);
        expect(result).toMatchObject({ ok: true, instanceUrl: expect.stringMatching(/^https:\/\/127\.0\.0\.1:/) });
        expect(result.identity.length).toBeGreaterThan(0);
        expect(result.apiCalls).toBeGreaterThanOrEqual(2);
      });
    }

    it('reports the exact reason when the secret is wrong', async () => {
      const mode = MODES[crm.kind]![0]!;
      const bad = input(crm.kind, mode, sandbox);
      await accounts.add({ ...bad, name: `${crm.kind}-wrong`, secrets: { clientSecret: 'not-the-secret' } });
      await expect(accounts.test(`${crm.kind}-wrong`)).rejects.toMatchObject({
        code: 'auth_failed',
        message: expect.not.stringContaining('not-the-secret'),
      });
    });

    it('reports a TLS failure when the sandbox CA is not trusted', async () => {
      const mode = MODES[crm.kind]![0]!;
      const { caFile: _ca, ...untrusted } = input(crm.kind, mode, sandbox);
      await accounts.add({ ...untrusted, name: `${crm.kind}-no-ca` });
      await expect(accounts.test(`${crm.kind}-no-ca`)).rejects.toMatchObject({ code: 'tls_error' });
    });

    it('reports an API version the server does not offer', async () => {
      const mode = MODES[crm.kind]![0]!;
      await accounts.add({
        ...input(crm.kind, mode, sandbox),
        name: `${crm.kind}-old`,
        apiVersion: crm.kind === 'salesforce' ? '12.0' : '1.0',
      });
      await expect(accounts.test(`${crm.kind}-old`)).rejects.toMatchObject({ code: 'unsupported_version' });
    });
  });
}
