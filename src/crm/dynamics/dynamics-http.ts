/**
 * A thin HTTPS transport over node:https, shared by the token calls (msal) and the Dataverse Web API.
 *
 * Why not dynamics-web-api: its Node transport takes neither a CA bundle nor an https.Agent (only a proxy and a
 * timeout), it hides response headers such as Retry-After and Preference-Applied, and it buffers whole result sets
 * in `retrieveAll`. Liaison needs a private CA, a call counter, per-call deadlines and raw pages, so the few
 * requests the driver makes are written here directly.
 */
import https from 'node:https';
import type { IncomingHttpHeaders } from 'node:http';
import { createHttpsAgent } from '../http/tls.js';
import { LiaisonError } from '../../core/errors.js';

export interface HttpRequest {
  method: string;
  url: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

/** Counts every call and bounds each one by a deadline covering connect, headers and the whole body. */
export class HttpTransport {
  calls = 0;
  private readonly agent: https.Agent;

  constructor(
    caFile: string | undefined,
    private readonly timeoutMs: number,
  ) {
    this.agent = createHttpsAgent(caFile, { maxSockets: 8 });
  }

  send(request: HttpRequest): Promise<HttpResponse> {
    this.calls += 1;
    return new Promise<HttpResponse>((resolve, reject) => {
      let settled = false;
      const finish = (error: unknown, response?: HttpResponse): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        request.signal?.removeEventListener('abort', onAbort);
        if (response) resolve(response);
        else reject(error);
      };
      const headers: Record<string, string | number> = { ...request.headers };
      if (request.body !== undefined) headers['Content-Length'] = Buffer.byteLength(request.body);
      const req = https.request(request.url, { method: request.method, headers, agent: this.agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => {
          if (!res.complete)
            return finish(
              Object.assign(new Error('connection closed before the response ended'), { code: 'ECONNRESET' }),
            );
          finish(undefined, {
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          });
        });
        res.on('aborted', () => finish(Object.assign(new Error('response aborted'), { code: 'ECONNRESET' })));
        res.on('error', (error) => finish(error));
        res.on('close', () =>
          finish(Object.assign(new Error('connection closed before the response ended'), { code: 'ECONNRESET' })),
        );
      });
      const timer = setTimeout(() => {
        const error = Object.assign(new Error(`no complete answer within ${this.timeoutMs} ms`), {
          code: 'ETIMEDOUT',
          name: 'TimeoutError',
        });
        req.destroy(error);
        finish(error);
      }, this.timeoutMs);
      const onAbort = (): void => {
        req.destroy();
        finish(request.signal?.reason ?? new LiaisonError('internal', 'request aborted'));
      };
      if (request.signal?.aborted) return onAbort();
      request.signal?.addEventListener('abort', onAbort, { once: true });
      req.on('error', (error) => finish(error));
      req.end(request.body);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A header's single value, lower-case name. */
export function header(response: HttpResponse, name: string): string | undefined {
  const value = response.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}
