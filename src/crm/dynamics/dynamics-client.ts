/**
 * Authenticated Dataverse Web API calls with the retry rules of the driver:
 * - 401: the token is renewed and the call sent once more (Dataverse did not process it);
 * - 429: waits for Retry-After and resends, for every call, since service protection rejected it unprocessed;
 * - 502/503/504, resets and timeouts: backoff with jitter, only for calls marked idempotent;
 * - anything else goes back to the caller, which maps it to a LiaisonError.
 */
import { LiaisonError } from '../../core/errors.js';
import type { EarlyAnswers } from '../early-answers.js';
import { backoffDelay, DEFAULT_RETRY, isTransientNetworkError, sleep, type RetryPolicy } from '../http/retry.js';
import type { TokenProvider } from './dynamics-auth.js';
import { httpFailure, networkFailure } from './dynamics-errors.js';
import { header, type HttpResponse, type HttpTransport } from './dynamics-http.js';

export interface ClientRequest {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Relative to the versioned API root (`contacts?$select=…`) or absolute on the org host (a nextLink). */
  path: string;
  headers?: Record<string, string>;
  body?: string;
  /** Safe to resend after a 503, reset or timeout. */
  idempotent: boolean;
  /** What the call does, for error messages ("reading contacts"). */
  what: string;
  signal?: AbortSignal;
}

const RETRY_STATUS = new Set([502, 503, 504]);

export class DataverseClient {
  /** `https://org.crm.dynamics.com/api/data/v9.2/` */
  readonly apiRoot: string;
  readonly origin: string;

  constructor(
    private readonly orgUrl: string,
    private readonly apiVersion: string,
    private readonly transport: HttpTransport,
    private readonly tokens: TokenProvider,
    private readonly policy: RetryPolicy = { ...DEFAULT_RETRY, retries: 6 },
    /** Answers asked for one read before its metadata came (see ../early-answers.ts). */
    private readonly early?: EarlyAnswers<ClientRequest, HttpResponse>,
  ) {
    if (!/^\d+\.\d+$/.test(apiVersion)) {
      throw new LiaisonError('invalid_input', `Dataverse API version "${apiVersion}" is not of the form 9.2`);
    }
    this.origin = new URL(orgUrl).origin;
    this.apiRoot = `${this.origin}/api/data/v${apiVersion}/`;
  }

  /** Resolves `path` and refuses absolute URLs off the org host, so a stored cursor can never leak the token. */
  url(path: string): string {
    if (!/^https?:\/\//i.test(path)) return this.apiRoot + path;
    const url = new URL(path);
    if (url.origin !== this.origin) {
      throw new LiaisonError(
        'invalid_input',
        `refusing to send the Dataverse token to ${url.origin}: links must stay on ${this.origin}`,
      );
    }
    return url.toString();
  }

  /** The same client for one read: a request asked early is answered from `early` instead of being sent again. */
  withEarlyAnswers(early: EarlyAnswers<ClientRequest, HttpResponse>): DataverseClient {
    return new DataverseClient(this.orgUrl, this.apiVersion, this.transport, this.tokens, this.policy, early);
  }

  /** Sends with auth and the retry rules; returns whatever final answer came (the caller checks the status). */
  async send(request: ClientRequest): Promise<HttpResponse> {
    const early = this.early?.take(request);
    if (early) return early;
    const url = this.url(request.path);
    let attempt = 0;
    let renewed = false;
    let rejected: string | undefined;
    for (;;) {
      const token = await this.tokens.token(rejected ? { force: true, rejected } : {});
      rejected = undefined;
      const headers: Record<string, string> = {
        Accept: 'application/json',
        'OData-MaxVersion': '4.0',
        'OData-Version': '4.0',
        ...(request.method === 'GET' ? { 'If-None-Match': 'null' } : {}),
        ...(request.body !== undefined ? { 'Content-Type': 'application/json; charset=utf-8' } : {}),
        ...request.headers,
        Authorization: `Bearer ${token}`,
      };
      let response: HttpResponse;
      try {
        response = await this.transport.send({
          method: request.method,
          url,
          headers,
          body: request.body,
          signal: request.signal,
        });
      } catch (error) {
        if (request.signal?.aborted) throw error;
        if (request.idempotent && isTransientNetworkError(error) && attempt < this.policy.retries) {
          attempt += 1;
          await sleep(backoffDelay(attempt, this.policy), request.signal);
          continue;
        }
        throw networkFailure(error, url);
      }
      if (response.status === 401 && !renewed) {
        renewed = true;
        rejected = token;
        continue;
      }
      const retryable = response.status === 429 || (request.idempotent && RETRY_STATUS.has(response.status));
      if (retryable && attempt < this.policy.retries) {
        attempt += 1;
        await sleep(backoffDelay(attempt, this.policy, header(response, 'retry-after')), request.signal);
        continue;
      }
      return response;
    }
  }

  /** Sends and parses a JSON answer; any non-2xx becomes the mapped LiaisonError. */
  async json(request: ClientRequest): Promise<{ body: Record<string, unknown>; response: HttpResponse }> {
    const response = await this.send(request);
    if (response.status < 200 || response.status >= 300)
      throw httpFailure(response.status, response.body, request.what);
    try {
      const body: unknown = JSON.parse(response.body);
      if (!body || typeof body !== 'object' || Array.isArray(body)) throw new Error('not an object');
      return { body: body as Record<string, unknown>, response };
    } catch (error) {
      throw new LiaisonError('crm_error', `Dataverse answered ${request.what} with unreadable JSON`, { cause: error });
    }
  }
}
