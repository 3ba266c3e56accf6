import { HttpsListener } from '../common/https-listener.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { SandboxFaults } from '../common/sandbox-types.js';
import { SfApiError } from './schema-types.js';

/**
 * The sandbox's HTTPS front: node:https directly with a small route table rather than a web framework, because
 * the sandbox needs exact control of status lines, headers and mid-body connection resets (fault injection), and
 * page serving must stay lean for the benchmark's "ceiling" measurement.
 */
export interface Reply {
  status: number;
  body?: string | Buffer;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RequestContext {
  req: IncomingMessage;
  method: string;
  url: URL;
  /** Captured path segments of the matched route (URI-decoded). */
  params: string[];
  /** API version from the path (`62.0`), or '' outside /services/data/vXX.X. */
  version: string;
  body(): Promise<Buffer>;
  json(): Promise<unknown>;
}

export type Handler = (ctx: RequestContext) => Reply | Promise<Reply>;

export interface Route {
  method: string;
  pattern: RegExp;
  /** Accounting bucket: token, query, describe, sobject, collections, bulk, limits, other. */
  kind: string;
  /** Whether a bearer token is required (and the call counts against the daily API limit). */
  auth: boolean;
  handler: Handler;
}

export interface ServerHooks {
  routes: Route[];
  /** Handles /_sandbox/... (already checked to come from loopback). */
  admin: Handler;
  /** Returns an error reply when the bearer token is missing, invalid or expired. */
  authenticate(req: IncomingMessage): Reply | undefined;
  /** Counts an authenticated API call; returns an error reply when the daily limit is spent. */
  chargeApiCall(): Reply | undefined;
  limitHeader(): string;
  count(kind: string): void;
  faults(): SandboxFaults;
  /** Counts a data request; the injected fault it meets (`down`/`downAfterRequests`, `resetOnRequest`). */
  dataFault(): 'down' | 'reset' | 'none';
}

export function errorReply(status: number, errorCode: string, message: string, fields?: string[]): Reply {
  const error: Record<string, unknown> = { message, errorCode };
  if (fields && fields.length > 0) error.fields = fields;
  return { status, body: JSON.stringify([error]) };
}

export function jsonReply(status: number, value: unknown): Reply {
  return { status, body: JSON.stringify(value) };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', '::ffff:127.0.0.1']);
const VERSION_PATH = /^\/services\/data\/v(\d+\.\d)(\/.*)?$/;

function readBody(req: IncomingMessage): () => Promise<Buffer> {
  let cached: Promise<Buffer> | undefined;
  return () => {
    cached ??= new Promise<Buffer>((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => resolve(Buffer.concat(chunks)));
      req.on('error', reject);
    });
    return cached;
  };
}

/** A path segment URI-decoded; a malformed escape is kept as written (it then matches nothing, as a 404). */
function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export class SfHttpServer {
  private readonly listener: HttpsListener;

  constructor(
    tls: { key: string; cert: string },
    private readonly hooks: ServerHooks,
  ) {
    this.listener = new HttpsListener(
      tls,
      (req, res) => {
        this.handle(req, res).catch((error: unknown) => {
          if (!res.headersSent)
            this.write(res, errorReply(500, 'UNKNOWN_EXCEPTION', `sandbox error: ${String(error)}`), false);
          else res.destroy();
        });
      },
      65_000,
    );
  }

  listen(port: number, host: string): Promise<number> {
    return this.listener.listen(port, host);
  }

  close(): Promise<void> {
    return this.listener.close();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'https://sandbox.invalid');
    const method = req.method ?? 'GET';
    const body = readBody(req);
    const ctxBase = {
      req,
      method,
      url,
      body,
      json: async () => {
        const text = (await body()).toString('utf8');
        try {
          return text.length === 0 ? {} : (JSON.parse(text) as unknown);
        } catch {
          throw new SfApiError(400, 'JSON_PARSER_ERROR', `Unexpected character in request body: not valid JSON`);
        }
      },
    };
    if (url.pathname.startsWith('/_sandbox/')) {
      if (!LOOPBACK.has(req.socket.remoteAddress ?? '')) {
        this.write(
          res,
          errorReply(403, 'FORBIDDEN', 'the sandbox admin API is only served to loopback clients'),
          false,
        );
        return;
      }
      this.write(res, await this.run(() => this.hooks.admin({ ...ctxBase, params: [], version: '' })), false);
      return;
    }
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    let route: Route | undefined;
    let params: string[] = [];
    for (const r of this.hooks.routes) {
      if (r.method !== method) continue;
      const m = r.pattern.exec(path);
      if (m) {
        route = r;
        params = m.slice(1).map((p) => (p === undefined ? '' : safeDecode(p)));
        break;
      }
    }
    this.hooks.count(route?.kind ?? 'other');
    const faults = this.hooks.faults();
    if (faults.latencyMs && faults.latencyMs > 0) await sleep(faults.latencyMs);
    const isData = route === undefined || route.kind !== 'token';
    const dataCall = isData && path !== '/services/data';
    const fault = dataCall ? this.hooks.dataFault() : 'none';
    if (dataCall) {
      if (fault === 'down' || (faults.unavailableRate && Math.random() < faults.unavailableRate)) {
        this.write(
          res,
          errorReply(503, 'SERVER_UNAVAILABLE', 'Service temporarily unavailable; try again later'),
          false,
        );
        return;
      }
      if (faults.rateLimitRate && Math.random() < faults.rateLimitRate) {
        // The concurrent-request flavour of REQUEST_LIMIT_EXCEEDED: transient, unlike the spent daily limit.
        this.write(res, errorReply(403, 'REQUEST_LIMIT_EXCEEDED', 'ConcurrentPerOrgLongTxn Limit exceeded.'), false);
        return;
      }
    }
    const reset = fault === 'reset' || (dataCall && faults.resetRate !== undefined && Math.random() < faults.resetRate);
    const version = VERSION_PATH.exec(path)?.[1] ?? '';
    if (!route) {
      this.write(res, errorReply(404, 'NOT_FOUND', 'The requested resource does not exist'), reset);
      return;
    }
    if (route.auth) {
      const denied = this.hooks.authenticate(req) ?? this.hooks.chargeApiCall();
      if (denied) {
        this.write(res, denied, reset, route.auth);
        return;
      }
    }
    const reply = await this.run(() => route.handler({ ...ctxBase, params, version }));
    this.write(res, reply, reset, route.auth);
  }

  private async run(fn: () => Reply | Promise<Reply>): Promise<Reply> {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof SfApiError) {
        if (error.status === 300) return jsonReply(300, error.message.split(','));
        return errorReply(error.status, error.errorCode, error.message, error.fields);
      }
      throw error;
    }
  }

  private write(res: ServerResponse, reply: Reply, reset: boolean, limitInfo = false): void {
    const body =
      reply.body === undefined
        ? undefined
        : typeof reply.body === 'string'
          ? Buffer.from(reply.body, 'utf8')
          : reply.body;
    const headers: Record<string, string | number> = { ...(reply.headers ?? {}) };
    if (body !== undefined) {
      headers['Content-Type'] ??= reply.contentType ?? 'application/json;charset=UTF-8';
      headers['Content-Length'] = body.length;
    }
    if (limitInfo) headers['Sforce-Limit-Info'] = this.hooks.limitHeader();
    if (reset && body === undefined) {
      res.socket?.destroy();
      return;
    }
    res.writeHead(reply.status, headers);
    if (reset && body !== undefined) {
      // A connection reset mid-body: part of the promised Content-Length, then the socket goes away.
      res.write(body.subarray(0, Math.max(1, Math.floor(body.length / 2))));
      setImmediate(() => res.socket?.destroy());
      return;
    }
    res.end(body);
  }
}
