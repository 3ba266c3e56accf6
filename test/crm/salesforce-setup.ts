import { readFileSync } from 'node:fs';
import type { AuthSettings, ConnectionSettings } from '../../src/crm/driver.js';
import { createSalesforceDriver, type SalesforceDriverOptions } from '../../src/crm/salesforce/salesforce-driver.js';
import {
  startSalesforceSandbox,
  type SalesforceSandbox,
  type SalesforceSandboxOptions,
} from '../../src/sandbox/salesforce/index.js';

/** Test helpers: a Salesforce sandbox on 127.0.0.1:0 and drivers connected to it with each auth mode. */
export const API_VERSION = '62.0';

export function authFor(sandbox: SalesforceSandbox, mode: 'client-credentials' | 'jwt' | 'password'): AuthSettings {
  const c = sandbox.credentials[mode] ?? {};
  if (mode === 'jwt') {
    return {
      mode,
      clientId: c.clientId,
      username: c.username,
      privateKey: readFileSync(c.privateKeyFile as string, 'utf8'),
    };
  }
  return { mode, ...c };
}

export function settingsFor(
  sandbox: SalesforceSandbox,
  mode: 'client-credentials' | 'jwt' | 'password' = 'client-credentials',
  extra: Partial<ConnectionSettings> = {},
): ConnectionSettings {
  return {
    kind: 'salesforce',
    url: sandbox.url,
    apiVersion: API_VERSION,
    caFile: sandbox.caFile,
    auth: authFor(sandbox, mode),
    requestTimeoutMs: 20_000,
    ...extra,
  };
}

export const FAST_RETRY = { retries: 4, baseDelayMs: 10, maxDelayMs: 100 };

export function driverFor(
  sandbox: SalesforceSandbox,
  options: SalesforceDriverOptions = {},
  extra: Partial<ConnectionSettings> = {},
) {
  return createSalesforceDriver(settingsFor(sandbox, 'client-credentials', extra), {
    retry: FAST_RETRY,
    bulk: { pollInitialMs: 20, pollMaxMs: 200 },
    ...options,
  });
}

export function startSandbox(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  return startSalesforceSandbox({ port: 0, host: '127.0.0.1', ...options });
}
