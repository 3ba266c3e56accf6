/**
 * Dataverse `$batch` bodies (multipart/mixed) and their responses. Every record is its own top-level part, not
 * inside a change set, so with `Prefer: odata.continue-on-error` one rejected record does not roll back the others.
 */
import { randomUUID } from 'node:crypto';
import { LiaisonError } from '../../core/errors.js';
import { parseODataError } from './dynamics-errors.js';

/** Dataverse's documented per-batch request limit. */
export const MAX_BATCH_REQUESTS = 1000;

export interface BatchPart {
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  /** Absolute URL of the operation. */
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface BatchPartResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

/** Builds the request body; returns it with the Content-Type carrying the boundary. */
export function buildBatch(parts: BatchPart[]): { contentType: string; body: string } {
  if (parts.length > MAX_BATCH_REQUESTS) {
    throw new LiaisonError(
      'invalid_input',
      `a Dataverse batch holds at most ${MAX_BATCH_REQUESTS} requests, got ${parts.length}`,
    );
  }
  const boundary = `batch_${randomUUID()}`;
  const lines: string[] = [];
  for (const part of parts) {
    lines.push(`--${boundary}`, 'Content-Type: application/http', 'Content-Transfer-Encoding: binary', '');
    lines.push(`${part.method} ${part.url} HTTP/1.1`);
    const headers: Record<string, string> = { Accept: 'application/json', ...part.headers };
    if (part.body !== undefined) headers['Content-Type'] = 'application/json; charset=utf-8';
    for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`);
    lines.push('');
    if (part.body !== undefined) lines.push(JSON.stringify(part.body));
  }
  lines.push(`--${boundary}--`, '');
  return { contentType: `multipart/mixed; boundary=${boundary}`, body: lines.join('\r\n') };
}

/** The boundary parameter of a multipart Content-Type. */
export function boundaryOf(contentType: string | undefined): string {
  const match = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  const boundary = match?.[1] ?? match?.[2];
  if (!boundary)
    throw new LiaisonError(
      'crm_error',
      `the $batch answer is not multipart (Content-Type ${contentType ?? 'missing'})`,
    );
  return boundary;
}

function splitParts(body: string, boundary: string): string[] {
  const delimiter = `--${boundary}`;
  const parts: string[] = [];
  for (const chunk of body.split(delimiter).slice(1)) {
    if (chunk.startsWith('--')) break; // the closing delimiter
    parts.push(chunk.replace(/^\r?\n/, ''));
  }
  return parts;
}

function parseHeaders(block: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of block.split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return headers;
}

function splitHead(text: string): [string, string] {
  const match = /\r?\n\r?\n/.exec(text);
  if (!match) return [text, ''];
  return [text.slice(0, match.index), text.slice(match.index + match[0].length)];
}

/** Parses the response into one entry per operation, in request order (change-set responses are flattened). */
export function parseBatchResponse(body: string, contentType: string | undefined): BatchPartResponse[] {
  const out: BatchPartResponse[] = [];
  for (const part of splitParts(body, boundaryOf(contentType))) {
    const [mimeHead, rest] = splitHead(part);
    const mime = parseHeaders(mimeHead);
    if ((mime['content-type'] ?? '').toLowerCase().startsWith('multipart/mixed')) {
      out.push(...parseBatchResponse(rest, mime['content-type']));
      continue;
    }
    const [httpHead, httpBody] = splitHead(rest);
    const [statusLine = '', ...headerLines] = httpHead.split(/\r?\n/);
    const status = /^HTTP\/\d(?:\.\d)?\s+(\d{3})/.exec(statusLine.trim());
    if (!status) throw new LiaisonError('crm_error', `unreadable $batch part status line "${statusLine.slice(0, 80)}"`);
    out.push({
      status: Number(status[1]),
      headers: parseHeaders(headerLines.join('\n')),
      body: httpBody.replace(/\r?\n$/, ''),
    });
  }
  return out;
}

/** The record id from `OData-EntityId: https://org/api/data/v9.2/contacts(<guid>)`. */
export function entityIdFromHeader(value: string | undefined): string | undefined {
  const match = /\(([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\)\s*$/i.exec(value ?? '');
  return match?.[1]?.toLowerCase();
}

/** A failed part as `{code, message}`: the OData error code (often empty or hex) or the HTTP status. */
export function partError(part: BatchPartResponse): { code: string; message: string } {
  const odata = parseODataError(part.body);
  return {
    code: odata?.code || `HTTP_${part.status}`,
    message: odata?.message || `HTTP ${part.status}`,
  };
}
