import { HttpsListener } from '../common/https-listener.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { DynamicsAuth } from './dynamics-auth.js';
import {
  type ApiRequest,
  type ApiResponse,
  DataverseError,
  ErrorCodes,
  jsonResponse,
  toErrorResponse,
} from './dynamics-http.js';
import {
  DEFAULT_CONCURRENT_REQUESTS,
  DEFAULT_SERVICE_PROTECTION,
  FaultInjector,
  SlidingWindow,
} from './dynamics-limits.js';
import { isWebApiPath, routeKind, routeWebApi, type RouteKind, type WebApiContext } from './dynamics-router.js';

/**
 * The HTTPS front: node:https with a small route table rather than a framework, because fault injection needs
 * exact control of status, headers and *mid-body* connection resets, and page serving must stay lean.
 * Order per request: count → admin/auth routes → faults → service protection → bearer check → Web API.
 */

const MAX_BODY = 64 * 1024 * 1024;

export interface ServerParts {
  auth: () => DynamicsAuth;
  webApi: () => WebApiContext;
  admin: (request: ApiRequest) => ApiResponse;
}

export class DynamicsServer {
  private readonly listener: HttpsListener;
  readonly faults = new FaultInjector();
  readonly window = new SlidingWindow({ ...DEFAULT_SERVICE_PROTECTION });
  private counts = new Map<RouteKind, number>();
  private inFlight = 0;
  /** The most Web API requests in the server at once since the counts were reset. */
  private peak = 0;
  /** Route kinds in arrival order since the counts were reset (the first 10,000). */
  private sequence: string[] = [];
  private total = 0;

  constructor(
    tls: { cert: string; key: string },
    private readonly parts: ServerParts,
  ) {
    // A failure while writing (e.g. a header value a client smuggled in) must end that exchange, not the server.
    this.listener = new HttpsListener(tls, (req, res) => void this.handle(req, res).catch(() => res.destroy()), 30_000);
  }

  requestCount(): number {
    return this.total;
  }

  requestCounts(): Record<string, number> {
    return Object.fromEntries(this.counts);
  }

  peakConcurrency(): number {
    return this.peak;
  }

  requestKinds(): string[] {
    return [...this.sequence];
  }

  resetCounts(): void {
    this.counts = new Map();
    this.total = 0;
    this.peak = 0;
    this.sequence = [];
  }

  private async readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      const b = chunk as Buffer;
      size += b.length;
      if (size > MAX_BODY) throw new DataverseError(413, '0x80040216', 'The request body is too large.');
      chunks.push(b);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sandbox.invalid');
    const method = (req.method ?? 'GET').toUpperCase();
    const pathname = url.pathname;
    const isAdmin = pathname.startsWith('/_sandbox/');
    if (!isAdmin) {
      const kind = routeKind(method, pathname);
      this.counts.set(kind, (this.counts.get(kind) ?? 0) + 1);
      this.total += 1;
      if (this.sequence.length < 10_000) this.sequence.push(kind);
    }
    let response: ApiResponse;
    let reset = false;
    try {
      const headers: Record<string, string> = {};
      for (const [k, v] of Object.entries(req.headers))
        if (v !== undefined) headers[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v;
      const body = method === 'GET' || method === 'HEAD' ? '' : await this.readBody(req);
      const request: ApiRequest = { method, url, headers, body };
      if (isAdmin) {
        const remote = req.socket.remoteAddress ?? '';
        response = ['127.0.0.1', '::1', '::ffff:127.0.0.1'].includes(remote)
          ? this.parts.admin(request)
          : jsonResponse(403, { error: { code: '', message: 'The sandbox admin API answers only loopback clients.' } });
      } else if (!isWebApiPath(pathname)) {
        // Latency models the distance to the service: the token endpoint is as far away as the Web API.
        if (this.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
        response = this.identityRoute(request);
      } else {
        const decision = this.faults.decide();
        // Concurrency is counted while a request is in the server (including injected latency), as Dataverse
        // counts requests in flight per user.
        this.inFlight += 1;
        this.peak = Math.max(this.peak, this.inFlight);
        try {
          const limit = this.window.limits.concurrentRequests ?? DEFAULT_CONCURRENT_REQUESTS;
          if (this.inFlight > limit) {
            response = jsonResponse(
              429,
              {
                error: {
                  code: ErrorCodes.concurrency429,
                  message: `Number of concurrent requests exceeded the limit of ${limit}.`,
                },
              },
              { 'Retry-After': '1' },
            );
          } else {
            if (this.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
            reset = decision === 'reset';
            response = this.dataRoute(request, decision);
          }
        } finally {
          this.inFlight -= 1;
        }
      }
    } catch (error) {
      response = toErrorResponse(error);
    }
    this.write(res, response, reset);
  }

  private identityRoute(request: ApiRequest): ApiResponse {
    const auth = this.parts.auth();
    const p = request.url.pathname;
    let m: RegExpExecArray | null;
    if ((m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(p)) && request.method === 'POST')
      return auth.token(request, decodeURIComponent(m[1]!));
    if ((m = /^\/([^/]+)\/(?:v2\.0\/)?\.well-known\/openid-configuration$/.exec(p)))
      return auth.openIdConfiguration(decodeURIComponent(m[1]!));
    if (/^\/common\/discovery\/instance$/.test(p)) return auth.instanceDiscovery();
    if (/^\/[^/]+\/discovery\/v2\.0\/keys$/.test(p)) return auth.keys();
    return jsonResponse(404, { error: { code: '0x80060888', message: `Resource not found for the segment '${p}'.` } });
  }

  private dataRoute(request: ApiRequest, decision: string): ApiResponse {
    if (decision === 'unavailable')
      return jsonResponse(
        503,
        {
          error: { code: ErrorCodes.unavailable, message: 'The service is temporarily unavailable. Try again later.' },
        },
        { 'Retry-After': '1' },
      );
    if (decision === 'rate-limited')
      return rateLimited(1, this.window.limits.requests, this.window.limits.windowSeconds);
    const auth = this.parts.auth();
    const principal = auth.authenticate(request);
    if (!principal) {
      const expired = /^Bearer\s+\S+/i.test(request.headers.authorization ?? '');
      return jsonResponse(
        401,
        {
          error: {
            code: ErrorCodes.unauthorized,
            message: expired
              ? 'The access token is expired or not valid for this organization (ExpiredAuthTicket).'
              : 'No bearer token was sent (InvalidAuthTicket).',
          },
        },
        { 'WWW-Authenticate': auth.challenge() },
      );
    }
    const retryAfter = this.window.admit();
    if (retryAfter !== undefined)
      return rateLimited(retryAfter, this.window.limits.requests, this.window.limits.windowSeconds);
    return routeWebApi(this.parts.webApi(), request, principal);
  }

  private write(res: ServerResponse, response: ApiResponse, reset: boolean): void {
    const body = Buffer.from(response.body, 'utf8');
    const headers: Record<string, string | number> = {
      ...response.headers,
      'Content-Length': body.length,
      REQ_ID: nextRequestId(),
    };
    if (reset) {
      // A connection reset mid-body: promise the full length, send part of it, then drop the socket.
      res.writeHead(response.status, headers);
      res.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))));
      setImmediate(() => res.socket?.destroy());
      return;
    }
    res.writeHead(response.status, headers);
    res.end(body);
  }

  listen(port: number, host: string): Promise<number> {
    return this.listener.listen(port, host);
  }

  close(): Promise<void> {
    return this.listener.close();
  }
}

let counter = 0;
/** Dataverse stamps every response with a REQ_ID; a counter shaped like a GUID is enough here. */
function nextRequestId(): string {
  counter = (counter + 1) % 0xffffffff;
  return `00000000-0000-4000-8000-${counter.toString(16).padStart(12, '0')}`;
}

export function rateLimited(retryAfter: number, limit: number, windowSeconds: number): ApiResponse {
  return jsonResponse(
    429,
    {
      error: {
        code: ErrorCodes.rateLimit,
        message: `Number of requests exceeded the limit of ${limit} over time window of ${windowSeconds} seconds.`,
      },
    },
    { 'Retry-After': String(retryAfter) },
  );
}
