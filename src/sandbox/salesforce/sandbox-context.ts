import type { QueryCursors } from './query-cursors.js';
import type { RecordStore } from './record-store.js';
import { SfApiError } from './schema-types.js';
import type { Handler, Route } from './http-server.js';

/** What the route modules share: the store, the cursors and the org's settings. */
export interface SfContext {
  store: RecordStore;
  cursors: QueryCursors;
  clock: () => Date;
  /** Deleted records older than this are purged from the recycle bin (Salesforce: 15 days). */
  deletedRetentionDays: number;
  limits: { dailyApiRequests: number; used: number };
  baseUrl(): string;
}

export const SUPPORTED_VERSIONS: [string, string][] = [
  ['57.0', "Spring '23"],
  ['58.0', "Summer '23"],
  ['59.0', "Winter '24"],
  ['60.0', "Spring '24"],
  ['61.0', "Summer '24"],
  ['62.0', "Winter '25"],
  ['63.0', "Spring '25"],
];
const SUPPORTED = new Set(SUPPORTED_VERSIONS.map(([v]) => v));

/**
 * A route under /services/data/vXX.X: `rest` is the pattern after the version (e.g. `/sobjects/([^/]+)`); the
 * handler sees only its own captures, and unknown versions get Salesforce's 404.
 */
export function apiRoute(method: string, kind: string, rest: string, handler: Handler): Route {
  return {
    method,
    kind,
    auth: true,
    pattern: new RegExp(`^/services/data/v(\\d+\\.\\d)${rest}$`),
    handler: (ctx) => {
      if (!SUPPORTED.has(ctx.version)) throw new SfApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
      return handler({ ...ctx, params: ctx.params.slice(1) });
    },
  };
}

/** Reads a JSON object body, with Salesforce's error for anything else. */
export function asObject(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new SfApiError(400, 'JSON_PARSER_ERROR', 'Cannot deserialize instance of SObject from a non-object value');
  }
  return value as Record<string, unknown>;
}
