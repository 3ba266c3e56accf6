import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createSandboxTls, generateRsaKeyPair, issueCertificate } from '../common/sandbox-tls.js';
import type { SandboxAdmin, SandboxHandle, SandboxStartOptions } from '../common/sandbox-types.js';
import { DynamicsAuth } from './dynamics-auth.js';
import { createAdmin, type DynamicsAdminExtras, handleAdminHttp } from './dynamics-admin.js';
import { createBatchHandler } from './dynamics-batch.js';
import { stableGuid } from './dynamics-ids.js';
import { buildSchema } from './dynamics-schema.js';
import { seedStore } from './dynamics-seed.js';
import { DynamicsServer } from './dynamics-server.js';
import { DynamicsStore } from './dynamics-store.js';
import { WriteEngine } from './dynamics-write.js';
import type { WebApiContext } from './dynamics-router.js';

/** The Dynamics admin: the shared SandboxAdmin plus Dataverse-only knobs (service protection limits). */
export type DynamicsSandboxAdmin = SandboxAdmin & DynamicsAdminExtras;

/**
 * A running Dataverse + Entra ID sandbox. `url` is the org URL (Web API under `/api/data/v9.2/`, token endpoint
 * under `/{tenant}/oauth2/v2.0/token` on the same host). Example:
 *
 *   const sb = await startDynamicsSandbox({ records: 1000, seed: 7 });
 *   const { tenant, clientId, clientSecret, authorityUrl } = sb.credentials['client-secret'];
 */
export interface DynamicsSandbox extends SandboxHandle {
  admin: DynamicsSandboxAdmin;
  /** Tenant id (GUID); the authority is `${url}/${tenantId}`. */
  tenantId: string;
}

export const SANDBOX_TENANT_DOMAIN = 'liaison-sandbox.onmicrosoft.com';

export async function startDynamicsSandbox(options: SandboxStartOptions = {}): Promise<DynamicsSandbox> {
  const seed = options.seed ?? 42;
  const records = options.records ?? 100;
  // A temp dir made here is removed on stop(); a caller's dataDir is left alone.
  const ownsDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'liaison-dynamics-'));
  const tls = createSandboxTls(dataDir, 'dynamics');

  // The app registration's certificate credential: a key pair and a self-signed certificate, as `az ad app
  // credential reset --create-cert` would make; clients sign assertions with the key.
  const appKeys = generateRsaKeyPair();
  const appCert = issueCertificate(appKeys, { subjectCn: 'liaison-sandbox-app', days: 365 });
  const privateKeyFile = path.join(dataDir, 'app-key.pem');
  const certificateFile = path.join(dataDir, 'app-cert.pem');
  writeFileSync(privateKeyFile, appKeys.privateKey, { mode: 0o600 });
  writeFileSync(certificateFile, appCert, { mode: 0o644 });

  const tenantId = stableGuid('tenant', seed);
  const confidentialClientId = stableGuid('confidential-client', seed);
  const publicClientId = stableGuid('public-client', seed);
  const username = `admin@${SANDBOX_TENANT_DOMAIN}`;
  const clientSecret = `lia~${randomBytes(24).toString('base64url')}`;
  const password = `Pw-${randomBytes(12).toString('base64url')}`;
  const appObjectId = stableGuid('app-object', seed);
  const userObjectId = stableGuid('user-object', seed);

  const store = new DynamicsStore(buildSchema());
  const identities = seedStore(store, records, seed, { appObjectId, userObjectId, username });

  // The server needs the port before the auth settings (org URL) exist, so its parts are bound late.
  const late: { auth?: DynamicsAuth; webApi?: WebApiContext; admin?: DynamicsSandboxAdmin } = {};
  const writes = new WriteEngine(store, identities);
  const server = new DynamicsServer(tls, {
    auth: () => late.auth!,
    webApi: () => late.webApi!,
    admin: (request) => handleAdminHttp(late.admin!, request),
  });
  const host = options.host ?? '127.0.0.1';
  const port = await server.listen(options.port ?? 0, host);
  const url = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;
  const apiBase = `${url}/api/data/v9.2/`;
  const auth = new DynamicsAuth({
    orgUrl: url,
    tenantId,
    tenantDomain: SANDBOX_TENANT_DOMAIN,
    confidentialClientId,
    clientSecret,
    certificatePem: appCert,
    publicClientId,
    username,
    password,
    appObjectId,
    userObjectId,
    // Tokens are signed with the server's TLS key: one RSA key generation less per start, and nothing verifies them
    // against a published key set.
    signingKeyPem: tls.key,
    tokenTtlSeconds: options.tokenTtlSeconds ?? 3599,
  });
  late.auth = auth;
  const context: WebApiContext = {
    store,
    apiBase,
    identities,
    write: (entity, key, rest, request, principal) =>
      writes.handle({ store, apiBase }, entity, key, rest, request, principal),
    batch: (request, principal) => batch(request, principal),
  };
  const batch = createBatchHandler(context);
  late.webApi = context;
  const createdAdmin = createAdmin({ server, store, writes, auth, identities });
  late.admin = createdAdmin;

  const authorityUrl = url;
  let stopped = false;
  return {
    url,
    caFile: tls.caFile,
    tenantId,
    credentials: {
      'client-secret': { tenant: tenantId, authorityUrl, clientId: confidentialClientId, clientSecret },
      certificate: { tenant: tenantId, authorityUrl, clientId: confidentialClientId, privateKeyFile, certificateFile },
      password: { tenant: tenantId, authorityUrl, clientId: publicClientId, username, password },
    },
    admin: createdAdmin,
    stop: async () => {
      if (stopped) return;
      stopped = true;
      await server.close();
      store.close();
      if (ownsDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
