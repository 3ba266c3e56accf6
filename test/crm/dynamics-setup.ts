import { readFileSync } from 'node:fs';
/** Shared setup for the Dynamics driver integration tests: a sandbox over HTTPS and settings for each auth mode. */
import type { AuthSettings, ConnectionSettings } from '../../src/crm/driver.js';
import type { SandboxHandle } from '../../src/sandbox/common/sandbox-types.js';

/** Sandbox credentials may be keyed like the CLI flags (`client-id`) or like AuthSettings (`clientId`). */
function pick(creds: Record<string, string>, key: keyof AuthSettings): string | undefined {
  const kebab = key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
  return creds[key] ?? creds[kebab];
}

export function dynamicsSettings(
  sandbox: SandboxHandle,
  mode: 'client-secret' | 'certificate' | 'password' = 'client-secret',
  overrides: Partial<ConnectionSettings> = {},
): ConnectionSettings {
  const creds = sandbox.credentials[mode];
  if (!creds) throw new Error(`sandbox has no ${mode} credentials`);
  const auth: AuthSettings = { mode };
  for (const key of [
    'tenant',
    'authorityUrl',
    'clientId',
    'clientSecret',
    'privateKey',
    'certificate',
    'username',
    'password',
  ] as const) {
    const value = pick(creds, key);
    if (value !== undefined) auth[key] = value;
  }
  // The sandbox hands the certificate credential out as files, like `az ad app credential reset --create-cert`.
  if (creds.privateKeyFile) auth.privateKey = readFileSync(creds.privateKeyFile, 'utf8');
  if (creds.certificateFile) auth.certificate = readFileSync(creds.certificateFile, 'utf8');
  return {
    kind: 'dynamics',
    url: sandbox.url,
    apiVersion: '9.2',
    auth,
    caFile: sandbox.caFile,
    requestTimeoutMs: 15_000,
    ...overrides,
  };
}
