import https from 'node:https';
import { caBundle } from '../../src/crm/http/tls.js';
import type { SalesforceSandbox } from '../../src/sandbox/salesforce/index.js';

/** Raw HTTPS calls against a Salesforce sandbox, trusting it only through its CA file. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: unknown;
}

const agents = new WeakMap<SalesforceSandbox, https.Agent>();

/** One keep-alive agent per sandbox, trusting its CA: TLS handshakes are the costly part of small calls. */
function agentFor(sf: SalesforceSandbox): https.Agent {
  let agent = agents.get(sf);
  if (!agent) {
    agent = new https.Agent({ keepAlive: true, ca: caBundle(sf.caFile) });
    agents.set(sf, agent);
  }
  return agent;
}

export function rawRequest(
  sf: SalesforceSandbox,
  method: string,
  path: string,
  options: { token?: string; body?: string | object; headers?: Record<string, string>; ca?: string[] | null } = {},
): Promise<RawResponse> {
  const url = new URL(path, sf.url);
  const headers: Record<string, string> = { ...(options.headers ?? {}) };
  if (options.token) headers.Authorization = `Bearer ${options.token}`;
  let payload: string | undefined;
  if (options.body !== undefined) {
    payload = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
    headers['Content-Type'] ??=
      typeof options.body === 'string' ? 'application/x-www-form-urlencoded' : 'application/json';
  }
  // ca: null = a client that does not trust the sandbox CA (Node's default roots only).
  const transport =
    options.ca === null
      ? { agent: false as const }
      : options.ca
        ? { ca: options.ca, agent: false as const }
        : { agent: agentFor(sf) };
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, headers, ...transport }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('aborted', () => reject(new Error('response aborted')));
      res.on('end', () => {
        if (!res.complete) {
          reject(new Error('response incomplete'));
          return;
        }
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text.length > 0 ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (payload !== undefined) req.write(payload);
    req.end();
  });
}

/** A token by the client-credentials flow. */
export async function clientToken(sf: SalesforceSandbox): Promise<string> {
  const cc = sf.credentials['client-credentials'] as Record<string, string>;
  const form = new URLSearchParams({
    grant_type: 'client_credentials',
    client_id: cc.clientId as string,
    client_secret: cc.clientSecret as string,
  });
  const res = await rawRequest(sf, 'POST', '/services/oauth2/token', { body: form.toString() });
  if (res.status !== 200) throw new Error(`token request failed: ${res.text}`);
  return (res.json as { access_token: string }).access_token;
}

/** The first error of a Salesforce error array body. */
export function firstError(res: RawResponse): { errorCode: string; message: string; fields?: string[] } {
  const body = res.json as { errorCode: string; message: string; fields?: string[] }[];
  if (!Array.isArray(body) || body.length === 0) throw new Error(`not an error array: ${res.status} ${res.text}`);
  return body[0] as { errorCode: string; message: string; fields?: string[] };
}

export function trustSandboxGlobally(sf: SalesforceSandbox): void {
  // jsforce uses node-fetch without an agent, i.e. https.globalAgent: add the sandbox CA to Node's roots there.
  https.globalAgent.options.ca = caBundle(sf.caFile);
}
