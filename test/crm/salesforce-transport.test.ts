import { mkdtempSync, rmSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isLiaisonError, LiaisonError } from '../../src/core/errors.js';
import type { ConnectionSettings } from '../../src/crm/driver.js';
import { SalesforceSession } from '../../src/crm/salesforce/salesforce-auth.js';
import { SalesforceHttp } from '../../src/crm/salesforce/salesforce-http.js';
import { createSandboxTls } from '../../src/sandbox/common/sandbox-tls.js';

/**
 * Transport behaviour that a full sandbox cannot easily stage: a response that stalls mid-body (it must time out,
 * never hang), transient statuses, and writes that must not be retried. A minimal HTTPS server on 127.0.0.1:0.
 */
let server: https.Server;
let url = '';
let caFile = '';
let dir = '';
const hits = new Map<string, number>();
let tokens = 0;

function handle(req: IncomingMessage, res: ServerResponse): void {
  const path = (req.url ?? '').split('?')[0] as string;
  hits.set(path, (hits.get(path) ?? 0) + 1);
  const n = hits.get(path) ?? 0;
  const json = (status: number, body: unknown): void => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  if (path === '/services/oauth2/token') {
    tokens++;
    return json(200, {
      access_token: `tok${tokens}`,
      instance_url: url,
      id: `${url}/id/00D/005`,
      token_type: 'Bearer',
    });
  }
  const auth = req.headers.authorization;
  if (path === '/expired') {
    if (auth === 'Bearer tok1')
      return json(401, [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }]);
    return json(200, { ok: auth });
  }
  if (path === '/upload') {
    let size = 0;
    req.on('data', (chunk: Buffer) => (size += chunk.length));
    req.on('end', () => {
      if (auth === 'Bearer tok1')
        return json(401, [{ errorCode: 'INVALID_SESSION_ID', message: 'Session expired or invalid' }]);
      json(201, { size, auth });
    });
    return;
  }
  if (path === '/stall') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' });
    res.write('{"records":[');
    return; // never ends
  }
  if (path === '/cut') {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': '1000' });
    res.write('{"records":[');
    setTimeout(() => res.socket?.destroy(), 20);
    return;
  }
  if (path === '/flaky') {
    if (n <= 2) {
      res.writeHead(503, { 'Retry-After': '0' });
      return void res.end('busy');
    }
    return json(200, { n });
  }
  if (path === '/write503') {
    res.writeHead(503);
    return void res.end();
  }
  if (path === '/limit')
    return json(403, [{ errorCode: 'REQUEST_LIMIT_EXCEEDED', message: 'TotalRequests Limit exceeded.' }]);
  json(404, [{ errorCode: 'NOT_FOUND', message: 'The requested resource does not exist' }]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sf-transport-'));
  const tls = createSandboxTls(dir, 'transport');
  caFile = tls.caFile;
  server = https.createServer({ key: tls.key, cert: tls.cert }, handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

const fastRetry = { retries: 2, baseDelayMs: 5, maxDelayMs: 20 };

function session(timeoutMs = 2_000, withCa = true): { http: SalesforceHttp; session: SalesforceSession } {
  const settings: ConnectionSettings = {
    kind: 'salesforce',
    url,
    apiVersion: '62.0',
    auth: { mode: 'client-credentials', clientId: 'id', clientSecret: 'secret' },
    ...(withCa ? { caFile } : {}),
  };
  const http = new SalesforceHttp(settings.caFile, timeoutMs, fastRetry);
  return { http, session: new SalesforceSession(settings, http) };
}

async function failure(promise: Promise<unknown>): Promise<LiaisonError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof LiaisonError) return error;
    throw error;
  }
  throw new Error('expected a failure');
}

describe('Salesforce transport', () => {
  it('times out a response that stalls mid-body instead of hanging, after bounded retries', async () => {
    const { http, session: s } = session(300);
    const error = await failure(s.call({ method: 'GET', path: '/stall', idempotent: true, what: 'stall' }));
    expect(error.code).toBe('timeout');
    // token + first attempt + 2 retries
    expect(http.apiCalls).toBe(4);
    http.close();
  });

  it('reports a connection cut mid-body as a network error, retried for reads only', async () => {
    const { http, session: s } = session();
    const error = await failure(s.call({ method: 'GET', path: '/cut', idempotent: true, what: 'cut' }));
    expect(error.code).toBe('network_error');
    expect(http.apiCalls).toBe(4);
    const before = http.apiCalls;
    const write = await failure(s.call({ method: 'POST', path: '/cut', body: '{}', idempotent: false, what: 'write' }));
    expect(write.code).toBe('network_error');
    expect(http.apiCalls - before).toBe(1);
    http.close();
  });

  it('retries 503 on reads (honouring Retry-After) but never resends a write', async () => {
    const { http, session: s } = session();
    const answer = await s.json({ method: 'GET', path: '/flaky', idempotent: true, what: 'flaky' });
    expect(answer).toEqual({ n: 3 });
    const before = http.apiCalls;
    const error = await failure(
      s.call({ method: 'POST', path: '/write503', body: '{}', idempotent: false, what: 'write' }),
    );
    expect(error.code).toBe('http_error');
    expect(error.details.status).toBe(503);
    expect(http.apiCalls - before).toBe(1);
    http.close();
  });

  it('renews an expired session once and replays the call', async () => {
    tokens = 0;
    const { http, session: s } = session();
    expect(await s.json({ method: 'GET', path: '/expired', idempotent: true, what: 'expired' })).toEqual({
      ok: 'Bearer tok2',
    });
    expect(http.apiCalls).toBe(4); // token, 401, token, replay
    http.close();
  });

  it('replays a reopenable streamed body (a spooled upload) after renewing the session', async () => {
    tokens = 0;
    const { http, session: s } = session();
    const opened: number[] = [];
    const body = () => {
      opened.push(opened.length);
      return Readable.from([Buffer.from('Id,Name\n'), Buffer.from('1,a\n')]);
    };
    const answer = await s.json({ method: 'PUT', path: '/upload', body, idempotent: false, what: 'upload' });
    expect(answer).toEqual({ size: 12, auth: 'Bearer tok2' });
    expect(opened).toHaveLength(2);
    http.close();
  });

  it('stops cleanly on REQUEST_LIMIT_EXCEEDED', async () => {
    const { http, session: s } = session();
    const error = await failure(s.call({ method: 'GET', path: '/limit', idempotent: true, what: 'limit' }));
    expect(error.code).toBe('api_limit_exceeded');
    expect(http.apiCalls).toBe(2);
    http.close();
  });

  it('names TLS and DNS failures', async () => {
    const { http, session: s } = session(2_000, false);
    const tlsError = await failure(s.call({ method: 'GET', path: '/x', idempotent: true, what: 'x' }));
    expect(tlsError.code).toBe('tls_error');
    expect(tlsError.message).toMatch(/--ca-file/);
    http.close();
    const dns = new SalesforceHttp(undefined, 5_000, fastRetry);
    const dnsError = await failure(
      dns.send({ method: 'GET', url: 'https://no-such-host.invalid/', idempotent: false }),
    );
    expect(isLiaisonError(dnsError, 'dns_error')).toBe(true);
    dns.close();
  });
});
