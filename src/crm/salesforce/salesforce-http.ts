/**
 * The Salesforce transport: a thin client over node:https, written by hand instead of using jsforce because
 * - jsforce 3.10 runs on node-fetch 2.7, which never settles when a response body is cut mid-transfer, and offers
 *   no per-request deadline covering the body; here every request has one (headers *and* body);
 * - the CA must be *added* to the trusted roots via an https.Agent (`createHttpsAgent`), which jsforce does not
 *   expose per connection, and TLS verification stays on;
 * - we need the exact status, headers (Retry-After, Sforce-Limit-Info) and error body for the error vocabulary;
 * - we need request-body streaming (Bulk 2.0 CSV upload) and response streaming (result CSVs) with backpressure;
 * - every HTTP attempt, token calls included, must be counted.
 * Retries live here and apply only to calls the caller marks idempotent (GETs, query pages, token requests).
 */
import { once } from 'node:events';
import type { IncomingHttpHeaders, IncomingMessage } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { LiaisonError } from '../../core/errors.js';
import { logger } from '../../core/logger.js';
import { createHttpsAgent } from '../http/tls.js';
import { backoffDelay, DEFAULT_RETRY, isTransientNetworkError, sleep, type RetryPolicy } from '../http/retry.js';
import { networkError } from './salesforce-errors.js';

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';

/** One HTTP call. `idempotent` allows retries on 5xx/429, resets and timeouts; writes leave it false. */
export interface HttpCall {
  method: HttpMethod;
  url: string;
  headers?: Record<string, string>;
  /**
   * A string/Buffer is sent with Content-Length; an async iterable is streamed (chunked) once and never resent; a
   * function opens a fresh stream per attempt (a spooled file), so the call can be replayed after a new token.
   */
  body?: string | Buffer | AsyncIterable<string | Buffer> | (() => AsyncIterable<string | Buffer>);
  idempotent: boolean;
  signal?: AbortSignal;
}

export interface HttpAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface HttpStreamAnswer {
  status: number;
  headers: IncomingHttpHeaders;
  /** The response body; the idle timeout stays armed while it is read. */
  stream: Readable;
}

const RETRY_STATUSES = new Set([429, 500, 502, 503, 504]);

export class SalesforceHttp {
  private readonly agent: https.Agent;
  private calls = 0;

  constructor(
    caFile: string | undefined,
    private readonly timeoutMs: number,
    private readonly retry: RetryPolicy = DEFAULT_RETRY,
  ) {
    this.agent = createHttpsAgent(caFile);
  }

  /** Every HTTP attempt made, retries included. */
  get apiCalls(): number {
    return this.calls;
  }

  /** Sends with retries (idempotent calls only) and returns the whole body as text. */
  async send(call: HttpCall): Promise<HttpAnswer> {
    return this.withRetry(call, () => this.attempt(call));
  }

  /** Like `send`, but hands back the body as a stream once a 2xx status arrived (non-2xx bodies are read). */
  async sendStream(call: HttpCall): Promise<HttpAnswer | HttpStreamAnswer> {
    return this.withRetry(call, async () => {
      const res = await this.open(call, true);
      if (res.statusCode !== undefined && res.statusCode >= 200 && res.statusCode < 300) {
        return { status: res.statusCode, headers: res.headers, stream: res };
      }
      return { status: res.statusCode ?? 0, headers: res.headers, body: await readBody(res) };
    });
  }

  close(): void {
    this.agent.destroy();
  }

  private async withRetry<T extends { status: number; headers: IncomingHttpHeaders }>(
    call: HttpCall,
    run: () => Promise<T>,
  ): Promise<T> {
    const retryable = call.idempotent && !isStreamBody(call.body);
    for (let attempt = 1; ; attempt++) {
      let answer: T;
      try {
        answer = await run();
      } catch (error) {
        if (call.signal?.aborted) throw call.signal.reason ?? error;
        if (retryable && attempt <= this.retry.retries && isTransientNetworkError(error)) {
          const delayMs = backoffDelay(attempt, this.retry);
          logger().debug(
            {
              host: new URL(call.url).host,
              method: call.method,
              error: (error as { code?: string }).code ?? (error as Error).name,
              attempt,
              delayMs,
            },
            'salesforce: retrying after a network error',
          );
          await sleep(delayMs, call.signal);
          continue;
        }
        throw networkError(error, call.url);
      }
      if (
        retryable &&
        attempt <= this.retry.retries &&
        (RETRY_STATUSES.has(answer.status) || isConcurrencyLimit(answer))
      ) {
        if ('stream' in answer) (answer as unknown as HttpStreamAnswer).stream.destroy();
        const retryAfter = answer.headers['retry-after'];
        const delayMs = backoffDelay(attempt, this.retry, Array.isArray(retryAfter) ? retryAfter[0] : retryAfter);
        logger().debug(
          { host: new URL(call.url).host, method: call.method, status: answer.status, attempt, delayMs },
          'salesforce: retrying after a transient answer',
        );
        await sleep(delayMs, call.signal);
        continue;
      }
      return answer;
    }
  }

  private async attempt(call: HttpCall): Promise<HttpAnswer> {
    const res = await this.open(call, false);
    return { status: res.statusCode ?? 0, headers: res.headers, body: await readBody(res) };
  }

  /**
   * Opens one request. Buffered calls get a hard deadline covering headers and body; streamed calls get an idle
   * deadline (no byte for timeoutMs) so a long result download is not cut while data still flows.
   */
  private open(call: HttpCall, streamed: boolean): Promise<IncomingMessage> {
    this.calls++;
    const headers: Record<string, string> = { 'Accept-Encoding': 'identity', ...call.headers };
    const fixed = typeof call.body === 'string' || Buffer.isBuffer(call.body) ? call.body : undefined;
    if (fixed !== undefined) headers['Content-Length'] = String(Buffer.byteLength(fixed));
    return new Promise<IncomingMessage>((resolve, reject) => {
      const req = https.request(call.url, {
        method: call.method,
        headers,
        agent: this.agent,
        ...(call.signal ? { signal: call.signal } : {}),
      });
      // Shared with readBody: a deadline that fires mid-body must surface as a timeout, not as a reset.
      const state: BodyState = { clear: () => undefined };
      const expire = (): void => {
        state.timedOut = Object.assign(new Error(`no complete answer within ${this.timeoutMs} ms`), {
          name: 'TimeoutError',
          code: 'ETIMEDOUT',
        });
        req.destroy(state.timedOut);
      };
      if (streamed) {
        req.setTimeout(this.timeoutMs, expire);
      } else {
        const timer = setTimeout(expire, this.timeoutMs);
        state.clear = () => clearTimeout(timer);
      }
      req.on('error', (error) => {
        state.clear();
        reject(error);
      });
      req.on('response', (res) => {
        // Buffered calls keep the deadline armed until readBody has the whole body.
        (res as StatefulMessage).liaison = state;
        resolve(res);
      });
      if (fixed !== undefined) {
        req.end(fixed);
      } else if (call.body !== undefined) {
        const stream = typeof call.body === 'function' ? call.body() : (call.body as AsyncIterable<string | Buffer>);
        pump(req, stream).catch((error: unknown) => req.destroy(error as Error));
      } else {
        req.end();
      }
    });
  }
}

/**
 * REQUEST_LIMIT_EXCEEDED has two flavours: the spent daily allowance (final: reported as api_limit_exceeded) and
 * too many concurrent long requests (ConcurrentPerOrgLongTxn…), which clears once other requests finish.
 */
function isConcurrencyLimit(answer: { status: number }): boolean {
  const body = (answer as { body?: unknown }).body;
  return (
    answer.status === 403 &&
    typeof body === 'string' &&
    body.includes('REQUEST_LIMIT_EXCEEDED') &&
    /Concurrent/i.test(body)
  );
}

function isStreamBody(body: HttpCall['body']): boolean {
  return body !== undefined && typeof body !== 'string' && !Buffer.isBuffer(body);
}

async function pump(req: import('node:http').ClientRequest, body: AsyncIterable<string | Buffer>): Promise<void> {
  for await (const chunk of body) {
    if (!req.write(chunk)) await once(req, 'drain');
  }
  req.end();
}

/** Reads a response to the end; a connection cut before the end rejects (never hangs) with a reset error. */
export function readBody(res: IncomingMessage): Promise<string> {
  const state = (res as StatefulMessage).liaison;
  return new Promise<string>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let done = false;
    const fail = (error: Error): void => {
      if (done) return;
      done = true;
      state?.clear();
      reject(state?.timedOut ?? error);
    };
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => {
      if (done) return;
      done = true;
      state?.clear();
      resolve(Buffer.concat(chunks).toString('utf8'));
    });
    res.on('error', fail);
    res.on('close', () =>
      fail(Object.assign(new Error('connection closed before the response body was complete'), { code: 'ECONNRESET' })),
    );
  });
}

interface BodyState {
  clear: () => void;
  timedOut?: Error;
}

type StatefulMessage = IncomingMessage & { liaison?: BodyState };

/** Header value as one string. */
export function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
}

/** Guards the JSON parse of a 2xx body: a truncated or non-JSON answer is a clear error, not a crash. */
export function parseJson(body: string, what: string): unknown {
  try {
    return JSON.parse(body) as unknown;
  } catch {
    throw new LiaisonError('http_error', `${what}: the answer is not valid JSON (${body.length} bytes)`);
  }
}
