/**
 * Requests and responses as plain values: route handlers never touch sockets, so the same handlers serve both
 * top-level requests and the parts of a `$batch`, and only the server layer decides on latency and resets.
 */
export interface ApiRequest {
  method: string;
  /** Path plus query, e.g. `/api/data/v9.2/contacts?$top=1`. */
  url: URL;
  headers: Record<string, string>;
  body: string;
}

export interface ApiResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export const JSON_TYPE = 'application/json; odata.metadata=minimal';

export function jsonResponse(status: number, value: unknown, headers: Record<string, string> = {}): ApiResponse {
  return {
    status,
    headers: { 'Content-Type': JSON_TYPE, 'OData-Version': '4.0', ...headers },
    body: JSON.stringify(value),
  };
}

export function emptyResponse(status: number, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'OData-Version': '4.0', ...headers }, body: '' };
}

/** A Dataverse Web API error: `{"error":{"code":"0x...","message":"..."}}` with the HTTP status. */
export class DataverseError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }

  toResponse(): ApiResponse {
    return jsonResponse(this.status, { error: { code: this.code, message: this.message } }, this.headers);
  }
}

/** Dataverse error codes used by the sandbox (hex codes as Dataverse prints them). */
export const ErrorCodes = {
  /** OData query / payload errors: bad $select, unknown segment, bad literal. */
  odata: '0x80060888',
  notFound: '0x80040217',
  validation: '0x80044331',
  invalidOption: '0x8004431a',
  duplicateKey: '0x80060892',
  duplicateRecord: '0x80040237',
  concurrency: '0x80060882',
  rateLimit: '0x80072322',
  concurrency429: '0x80072326',
  unauthorized: '0x80072560',
  unavailable: '0x80040216',
  batchLimit: '0x8005f103',
} as const;

export function odataError(message: string, status = 400): DataverseError {
  return new DataverseError(status, ErrorCodes.odata, message);
}

export function header(request: ApiRequest, name: string): string | undefined {
  return request.headers[name.toLowerCase()];
}

/** Parses a `Prefer` header into its preferences (name → value, value '' when absent). */
export function parsePrefer(value: string | undefined): Map<string, string> {
  const prefs = new Map<string, string>();
  if (!value) return prefs;
  for (const part of value.split(',')) {
    const eq = part.indexOf('=');
    const name = (eq < 0 ? part : part.slice(0, eq)).trim().toLowerCase();
    const raw = eq < 0 ? '' : part.slice(eq + 1).trim();
    if (name) prefs.set(name, raw.replace(/^"|"$/g, ''));
  }
  return prefs;
}

export function toErrorResponse(error: unknown): ApiResponse {
  if (error instanceof DataverseError) return error.toResponse();
  // Unexpected failures surface as a Dataverse-shaped 500 so clients parse them like the real thing.
  const message = error instanceof Error ? error.message : String(error);
  return new DataverseError(500, '0x80040216', `An unexpected error occurred: ${message}`).toResponse();
}
