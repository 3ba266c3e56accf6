import { randomUUID } from 'node:crypto';
import type { Principal } from './dynamics-auth.js';
import {
  type ApiRequest,
  type ApiResponse,
  DataverseError,
  ErrorCodes,
  header,
  parsePrefer,
  toErrorResponse,
} from './dynamics-http.js';
import { routeWebApi, type WebApiContext } from './dynamics-router.js';

/**
 * `$batch`: multipart/mixed requests with change sets. Parts run through the same route table as top-level
 * requests; a change set runs inside one SQLite savepoint, so it commits or rolls back as a whole. `$n`
 * Content-ID references are resolved in URLs and in `@odata.bind` values.
 */

export const MAX_BATCH_REQUESTS = 1000;

interface Part {
  headers: Record<string, string>;
  body: string;
}

interface SubRequest {
  contentId?: string;
  method: string;
  target: string;
  headers: Record<string, string>;
  body: string;
}

type Item = { kind: 'single'; request: SubRequest } | { kind: 'changeset'; requests: SubRequest[] };

const STATUS_TEXT: Record<number, string> = {
  200: 'OK',
  201: 'Created',
  204: 'No Content',
  304: 'Not Modified',
  400: 'Bad Request',
  401: 'Unauthorized',
  404: 'Not Found',
  405: 'Method Not Allowed',
  412: 'Precondition Failed',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  503: 'Service Unavailable',
};

function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /boundary=("?)([^";]+)\1/i.exec(contentType ?? '');
  return m?.[2];
}

function splitHeaders(text: string): { headers: Record<string, string>; rest: string } {
  const normalized = text.replace(/^\r?\n/, '');
  const m = /\r?\n\r?\n/.exec(normalized);
  const head = m ? normalized.slice(0, m.index) : normalized;
  const rest = m ? normalized.slice(m.index + m[0].length) : '';
  const headers: Record<string, string> = {};
  for (const line of head.split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
  }
  return { headers, rest };
}

function splitMultipart(body: string, boundary: string): Part[] {
  const parts: Part[] = [];
  const chunks = body.split(`--${boundary}`);
  for (const chunk of chunks.slice(1)) {
    if (chunk.startsWith('--')) break;
    const { headers, rest } = splitHeaders(chunk);
    parts.push({ headers, body: rest.replace(/\r?\n$/, '') });
  }
  return parts;
}

function parseHttp(part: Part): SubRequest {
  const { body } = part;
  const lineEnd = body.search(/\r?\n/);
  const requestLine = (lineEnd < 0 ? body : body.slice(0, lineEnd)).trim();
  const m = /^(GET|POST|PATCH|PUT|DELETE)\s+(\S+)(\s+HTTP\/1\.1)?$/.exec(requestLine);
  if (!m)
    throw new DataverseError(
      400,
      ErrorCodes.odata,
      `The batch part's request line '${requestLine.slice(0, 200)}' is not valid.`,
    );
  const { headers, rest } = splitHeaders(lineEnd < 0 ? '' : body.slice(lineEnd));
  const contentId = part.headers['content-id'];
  return { method: m[1]!, target: m[2]!, headers, body: rest.trim(), ...(contentId ? { contentId } : {}) };
}

function parseBatch(request: ApiRequest): Item[] {
  const boundary = boundaryOf(header(request, 'content-type'));
  if (!boundary)
    throw new DataverseError(
      400,
      ErrorCodes.odata,
      "The batch request must have a 'Content-Type' header of multipart/mixed with a boundary.",
    );
  const items: Item[] = [];
  for (const part of splitMultipart(request.body, boundary)) {
    const changeset = boundaryOf(part.headers['content-type']);
    if (changeset && /multipart\/mixed/i.test(part.headers['content-type'] ?? '')) {
      const requests = splitMultipart(part.body, changeset).map(parseHttp);
      if (requests.some((r) => r.method === 'GET'))
        throw new DataverseError(400, ErrorCodes.odata, 'GET requests are not allowed inside a change set.');
      items.push({ kind: 'changeset', requests });
    } else items.push({ kind: 'single', request: parseHttp(part) });
  }
  return items;
}

function serialize(response: ApiResponse, contentId?: string): string {
  const lines = ['Content-Type: application/http', 'Content-Transfer-Encoding: binary'];
  if (contentId) lines.push(`Content-ID: ${contentId}`);
  lines.push('', `HTTP/1.1 ${response.status} ${STATUS_TEXT[response.status] ?? ''}`);
  for (const [k, v] of Object.entries(response.headers)) lines.push(`${k}: ${v}`);
  lines.push('', response.body);
  return lines.join('\r\n');
}

export function createBatchHandler(ctx: WebApiContext): (request: ApiRequest, principal: Principal) => ApiResponse {
  const origin = new URL(ctx.apiBase).origin;

  function resolveTarget(target: string, refs: Map<string, string>): URL {
    const ref = /^\$(\d+)(.*)$/.exec(target);
    if (ref) {
      const url = refs.get(ref[1]!);
      if (!url)
        throw new DataverseError(
          400,
          ErrorCodes.odata,
          `Content-ID Reference: '$${ref[1]}' does not exist in the batch context.`,
        );
      return new URL(url + ref[2]);
    }
    if (/^https?:\/\//i.test(target)) return new URL(target);
    return new URL(target.startsWith('/') ? origin + target : ctx.apiBase + target);
  }

  function resolveBody(body: string, refs: Map<string, string>): string {
    if (!body.includes('$')) return body;
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return body;
    }
    const walk = (v: unknown): unknown => {
      if (typeof v === 'string') {
        const m = /^\$(\d+)$/.exec(v);
        if (!m) return v;
        const url = refs.get(m[1]!);
        if (!url)
          throw new DataverseError(
            400,
            ErrorCodes.odata,
            `Content-ID Reference: '${v}' does not exist in the batch context.`,
          );
        return url;
      }
      if (Array.isArray(v)) return v.map(walk);
      if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      return v;
    };
    return JSON.stringify(walk(parsed));
  }

  function run(sub: SubRequest, outer: ApiRequest, principal: Principal, refs: Map<string, string>): ApiResponse {
    try {
      const url = resolveTarget(sub.target, refs);
      const headers: Record<string, string> = { ...sub.headers };
      if (!headers.prefer && outer.headers.prefer) {
        // The outer Prefer (e.g. odata.continue-on-error) is about the batch; pass only part-level preferences.
        const inner = [...parsePrefer(outer.headers.prefer)].filter(([k]) => k !== 'odata.continue-on-error');
        if (inner.length) headers.prefer = inner.map(([k, v]) => (v ? `${k}=${v}` : k)).join(',');
      }
      const response = routeWebApi(
        ctx,
        { method: sub.method, url, headers, body: resolveBody(sub.body, refs) },
        principal,
      );
      const entityId = response.headers['OData-EntityId'];
      if (sub.contentId && entityId) refs.set(sub.contentId, entityId);
      return response;
    } catch (error) {
      return toErrorResponse(error);
    }
  }

  return (request, principal) => {
    const items = parseBatch(request);
    const count = items.reduce((n, i) => n + (i.kind === 'single' ? 1 : i.requests.length), 0);
    if (count > MAX_BATCH_REQUESTS) {
      // Wording as Dataverse answers 1001 requests (reported by DynamicsWebApi's maintainers).
      throw new DataverseError(
        400,
        ErrorCodes.batchLimit,
        `The current change set contains too many operations. A maximum number of '${MAX_BATCH_REQUESTS}' operations are allowed in a change set`,
      );
    }
    const continueOnError = parsePrefer(header(request, 'prefer')).has('odata.continue-on-error');
    const boundary = `batchresponse_${randomUUID()}`;
    const out: string[] = [];
    let failed = false;
    for (const item of items) {
      if (item.kind === 'single') {
        const response = run(item.request, request, principal, new Map());
        out.push(serialize(response, item.request.contentId));
        if (response.status >= 400) {
          failed = true;
          if (!continueOnError) break;
        }
        continue;
      }
      const refs = new Map<string, string>();
      const responses: Array<{ response: ApiResponse; contentId?: string }> = [];
      let failure: ApiResponse | undefined;
      try {
        ctx.store.atomic(() => {
          for (const sub of item.requests) {
            const response = run(sub, request, principal, refs);
            if (response.status >= 400) {
              failure = response;
              throw new Error('rollback change set');
            }
            responses.push({ response, ...(sub.contentId ? { contentId: sub.contentId } : {}) });
          }
        });
      } catch (error) {
        if (!failure) throw error;
      }
      if (failure) {
        // A failed change set is rolled back and reported as one error part.
        out.push(serialize(failure));
        failed = true;
        if (!continueOnError) break;
        continue;
      }
      const cs = `changesetresponse_${randomUUID()}`;
      const inner = responses.map((r) => `--${cs}\r\n${serialize(r.response, r.contentId)}`).join('\r\n');
      out.push(`Content-Type: multipart/mixed; boundary=${cs}\r\n\r\n${inner}\r\n--${cs}--`);
    }
    const body = out.map((p) => `--${boundary}\r\n${p}`).join('\r\n') + `\r\n--${boundary}--\r\n`;
    const status = failed && !continueOnError ? 400 : 200;
    return {
      status,
      headers: { 'Content-Type': `multipart/mixed; boundary=${boundary}`, 'OData-Version': '4.0' },
      body,
    };
  };
}
