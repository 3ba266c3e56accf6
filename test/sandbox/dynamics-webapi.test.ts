import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { ConfidentialClientApplication, PublicClientApplication } from '@azure/msal-node';
import { DynamicsWebApi } from 'dynamics-web-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { certificateThumbprint } from '../../src/sandbox/common/sandbox-tls.js';
import { type DynamicsSandbox, startDynamicsSandbox } from '../../src/sandbox/dynamics/index.js';
import { msalNetworkClient, trustCaForNewHttpsAgents } from './dynamics-client-helpers.js';

/**
 * Conformance: the sandbox driven by @azure/msal-node and dynamics-web-api exactly as their users drive Dataverse,
 * with no Liaison driver code in between.
 */

let sandbox: DynamicsSandbox;
let api: DynamicsWebApi;
let token: string;

function authority(sb: DynamicsSandbox): { authority: string; knownAuthorities: string[] } {
  const creds = sb.credentials['client-secret']!;
  return { authority: `${creds.authorityUrl}/${creds.tenant}`, knownAuthorities: [new URL(sb.url).host] };
}

beforeAll(async () => {
  sandbox = await startDynamicsSandbox({ records: 1200, seed: 11 });
  trustCaForNewHttpsAgents(sandbox.caFile);
  const creds = sandbox.credentials['client-secret']!;
  const cca = new ConfidentialClientApplication({
    auth: { clientId: creds.clientId!, clientSecret: creds.clientSecret!, ...authority(sandbox) },
    system: { networkClient: msalNetworkClient(sandbox.caFile) },
  });
  const result = await cca.acquireTokenByClientCredential({ scopes: [`${sandbox.url}/.default`] });
  token = result!.accessToken;
  api = new DynamicsWebApi({ serverUrl: sandbox.url, dataApi: { version: '9.2' }, onTokenRefresh: async () => token });
});

afterAll(async () => {
  await sandbox?.stop();
});

describe('authentication with msal-node', () => {
  it('issues a JWT access token for the org by client secret', () => {
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
    expect(claims.aud).toBe(sandbox.url);
    expect(claims.tid).toBe(sandbox.tenantId);
    expect(typeof claims.exp).toBe('number');
  });

  it('issues a token by certificate (SHA-256 thumbprint, PS256) and by SHA-1 thumbprint (RS256)', async () => {
    const creds = sandbox.credentials.certificate!;
    const cert = readFileSync(creds.certificateFile!, 'utf8');
    const privateKey = readFileSync(creds.privateKeyFile!, 'utf8');
    const sha256 = new ConfidentialClientApplication({
      auth: { clientId: creds.clientId!, clientCertificate: { thumbprintSha256: certificateThumbprint256(cert), privateKey }, ...authority(sandbox) },
      system: { networkClient: msalNetworkClient(sandbox.caFile) },
    });
    const a = await sha256.acquireTokenByClientCredential({ scopes: [`${sandbox.url}/.default`] });
    expect(a?.accessToken).toMatch(/^ey/);
    const sha1 = new ConfidentialClientApplication({
      auth: { clientId: creds.clientId!, clientCertificate: { thumbprint: certificateThumbprint(cert, 'hex'), privateKey }, ...authority(sandbox) },
      system: { networkClient: msalNetworkClient(sandbox.caFile) },
    });
    const b = await sha1.acquireTokenByClientCredential({ scopes: [`${sandbox.url}/.default`] });
    expect(b?.accessToken).toMatch(/^ey/);
  });

  it('issues a token by username and password to the public client', async () => {
    const creds = sandbox.credentials.password!;
    const pca = new PublicClientApplication({
      auth: { clientId: creds.clientId!, ...authority(sandbox) },
      system: { networkClient: msalNetworkClient(sandbox.caFile) },
    });
    const result = await pca.acquireTokenByUsernamePassword({ scopes: [`${sandbox.url}/.default`], username: creds.username!, password: creds.password! });
    expect(result?.account?.username).toBe(creds.username);
    const who = await new DynamicsWebApi({ serverUrl: sandbox.url, dataApi: { version: '9.2' }, onTokenRefresh: async () => result!.accessToken }).callFunction('WhoAmI');
    const appWho = await api.callFunction('WhoAmI');
    expect(who.UserId).not.toBe(appWho.UserId);
  });
});

function certificateThumbprint256(pem: string): string {
  return createHash('sha256').update(new X509Certificate(pem).raw).digest('hex');
}

describe('queries', () => {
  it('answers WhoAmI', async () => {
    const who = await api.callFunction('WhoAmI');
    expect(who.UserId).toMatch(/^[0-9a-f-]{36}$/);
    expect(who.BusinessUnitId).toMatch(/^[0-9a-f-]{36}$/);
    expect(who.OrganizationId).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('pages with maxPageSize and nextLink, and retrieveAll reads every contact once', async () => {
    const first = await api.retrieveMultiple({ collection: 'contacts', select: ['fullname', 'emailaddress1'], maxPageSize: 500 });
    expect(first.value).toHaveLength(500);
    expect(first.oDataNextLink).toContain('$skiptoken=');
    const all = await api.retrieveAll({ collection: 'contacts', select: ['fullname'], maxPageSize: 500 });
    expect(all.value).toHaveLength(1200);
    expect(new Set(all.value.map((c: { contactid: string }) => c.contactid)).size).toBe(1200);
    expect(all.value[0]['@odata.etag']).toMatch(/^W\/"\d+"$/);
  });
});
