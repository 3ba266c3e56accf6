import https from 'node:https';
import { syncBuiltinESMExports } from 'node:module';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { caBundle, readCaFile } from '../../src/crm/http/tls.js';

/**
 * How ordinary users make msal-node and dynamics-web-api trust a private CA, without ever turning verification off.
 *
 * - msal-node 7 uses global fetch, which ignores https agents; it accepts a custom `system.networkClient`, so we give
 *   it one built on node:https with `ca` from the sandbox's CA file.
 * - dynamics-web-api (node build) creates its own `new https.Agent({ keepAlive })` with no CA option. Node reads
 *   NODE_EXTRA_CA_CERTS only at process start, before the sandbox CA exists, so we do what that variable would do:
 *   make agents created *by https.Agent* default to the CA bundle (Node's roots + the sandbox CA), and publish the
 *   change to ES-module importers with `syncBuiltinESMExports`.
 */
export function msalNetworkClient(caFile: string): INetworkModule {
  const ca = caBundle(caFile);
  const send = <T>(method: string, url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> =>
    new Promise((resolve, reject) => {
      const body = options?.body;
      const req = https.request(
        url,
        {
          method,
          ca,
          headers: { ...(options?.headers ?? {}), ...(body ? { 'Content-Length': Buffer.byteLength(body) } : {}) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
            try {
              resolve({ headers, status: res.statusCode ?? 0, body: (text ? JSON.parse(text) : {}) as T });
            } catch (error) {
              reject(error instanceof Error ? error : new Error(String(error)));
            }
          });
        },
      );
      req.on('error', reject);
      if (body) req.write(body);
      req.end();
    });
  return {
    sendGetRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => send<T>('GET', url, options),
    sendPostRequestAsync: <T>(url: string, options?: NetworkRequestOptions) => send<T>('POST', url, options),
  };
}

let installed = false;
const trusted: string[] = [];

/** Makes every https.Agent created from now on in this process trust `caFile` too (like NODE_EXTRA_CA_CERTS). */
export function trustCaForNewHttpsAgents(caFile: string): void {
  trusted.push(caFile);
  if (installed) return;
  installed = true;
  const Original = https.Agent;
  class TrustingAgent extends Original {
    constructor(options?: https.AgentOptions) {
      // Node's roots (and NODE_EXTRA_CA_CERTS) plus every CA trusted so far, unless the caller chose its own CAs.
      const ca = [...(caBundle(trusted[0]!) ?? []), ...trusted.slice(1).map((f) => readCaFile(f))];
      super({ ...options, ...(options?.ca ? {} : { ca }) });
    }
  }
  (https as { Agent: typeof https.Agent }).Agent = TrustingAgent;
  syncBuiltinESMExports();
}

export interface RawReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: () => Record<string, unknown>;
}

export interface RawCallOptions {
  body?: string;
  headers?: Record<string, string>;
  /** Bearer token; null sends none. */
  bearer?: string | null;
}

/** A bare HTTPS client for wire-level assertions (status codes, headers, exact error bodies). */
export function rawClient(baseUrl: string, caFile: string, defaultBearer: () => string | undefined) {
  // One keep-alive agent per client: building a secure context over the full root list per request is costly.
  const agent = new https.Agent({ keepAlive: true, ca: caBundle(caFile) });
  return (method: string, path: string, options: RawCallOptions = {}): Promise<RawReply> => {
    const headers: Record<string, string> = { Accept: 'application/json', ...(options.headers ?? {}) };
    const bearer = options.bearer === undefined ? defaultBearer() : options.bearer;
    if (bearer) headers.Authorization = `Bearer ${bearer}`;
    if (options.body !== undefined) headers['Content-Length'] = String(Buffer.byteLength(options.body));
    return new Promise((resolve, reject) => {
      const req = https.request(new URL(path, baseUrl), { method, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            text,
            json: () => JSON.parse(text) as Record<string, unknown>,
          });
        });
      });
      req.on('error', reject);
      if (options.body !== undefined) req.write(options.body);
      req.end();
    });
  };
}

/** Client-credentials token straight from the token endpoint. */
export async function secretToken(sandbox: {
  url: string;
  caFile: string;
  credentials: Record<string, Record<string, string>>;
}): Promise<string> {
  const c = sandbox.credentials['client-secret']!;
  const call = rawClient(sandbox.url, sandbox.caFile, () => undefined);
  const body = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: c.clientId!,
    client_secret: c.clientSecret!,
    scope: `${sandbox.url}/.default`,
  }).toString();
  const reply = await call('POST', `/${c.tenant}/oauth2/v2.0/token`, {
    body,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
  });
  return reply.json().access_token as string;
}
