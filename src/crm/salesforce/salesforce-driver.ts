import { isLiaisonError, LiaisonError } from '../../core/errors.js';
import type {
  ConnectionSettings,
  ConnectionTestResult,
  CrmDriver,
  DriverCapabilities,
  QueryRequest,
  RecordPage,
} from '../driver.js';
import { DEFAULT_RETRY, type RetryPolicy } from '../http/retry.js';
import { requireHttpsUrl } from '../http/tls.js';
import type { ObjectMetadata, ObjectSummary } from '../metadata.js';
import { SalesforceSession } from './salesforce-auth.js';
import { bulkWrite, type BulkOptions } from './salesforce-bulk.js';
import { MAX_COLLECTION_SIZE, writeCollection } from './salesforce-collections.js';
import { readDeleted } from './salesforce-deleted.js';
import { mapDescribe, mapGlobal, type GlobalEntry } from './salesforce-describe.js';
import { SalesforceHttp } from './salesforce-http.js';
import { compileQuery, MAX_IDS_PER_QUERY, runCompiled, type QueryContext } from './salesforce-query.js';
import { earlyAnswers, guessedDescribe, type SalesforceEarlyAnswers } from './salesforce-early-reads.js';
import { openingRequests, runSliced, type SliceOptions } from './salesforce-query-slices.js';

/** Knobs for tests and benchmarks; production uses the defaults. */
export interface SalesforceDriverOptions {
  retry?: RetryPolicy;
  bulk?: Partial<BulkOptions>;
  /** Parallel slices for large unordered queries (1 turns slicing off). */
  slices?: Partial<SliceOptions>;
}

const CAPABILITIES: DriverCapabilities = {
  batchWrite: true,
  maxBatchSize: MAX_COLLECTION_SIZE,
  bulkWrite: true,
  upsertByExternalId: true,
  changeTracking: false,
  queryIncludesDeleted: true,
  maxPageSize: 2000,
  maxIdsPerQuery: MAX_IDS_PER_QUERY,
};

const DEFAULT_TIMEOUT_MS = 120_000;

/** An sObject API name (Account, Loyalty_Card__c, ns__Thing__c): the only text put into a describe URL. */
const API_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * The Salesforce driver: REST API for discovery, queries and sObject Collections, Bulk API 2.0 for large writes.
 *
 * @example const driver = createSalesforceDriver({ kind: 'salesforce', url: 'https://acme.my.salesforce.com', apiVersion: '62.0', auth: { mode: 'client-credentials', clientId, clientSecret } });
 */
export function createSalesforceDriver(settings: ConnectionSettings, options: SalesforceDriverOptions = {}): CrmDriver {
  requireHttpsUrl(settings.url, 'Salesforce URL');
  if (!/^\d+\.\d$/.test(settings.apiVersion)) {
    throw new LiaisonError('invalid_input', `API version "${settings.apiVersion}" is not of the form 62.0`);
  }
  const http = new SalesforceHttp(
    settings.caFile,
    settings.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS,
    options.retry ?? DEFAULT_RETRY,
  );
  const session = new SalesforceSession(settings, http);
  const version = settings.apiVersion;
  let global: Promise<GlobalEntry[]> | undefined;
  let prefixes: Promise<ReadonlyMap<string, string>> | undefined;
  /** Describes by lower-case object name (Salesforce names are case-insensitive). */
  const described = new Map<string, Promise<ObjectMetadata>>();

  // Queries and writes reuse describes for the driver's lifetime; the public discovery calls always ask again, so
  // drift checks see fields and objects added or changed since.
  const describeGlobal = (fresh = false): Promise<GlobalEntry[]> => {
    if (fresh) {
      global = undefined;
      prefixes = undefined;
    }
    if (!global) {
      const pending = session
        .json({
          method: 'GET',
          path: `/services/data/v${version}/sobjects/`,
          headers: { Accept: 'application/json' },
          idempotent: true,
          what: 'describeGlobal',
        })
        .then(mapGlobal);
      global = pending;
      pending.catch(() => {
        if (global === pending) global = undefined;
      });
    }
    return global;
  };

  const noSuchObject = (name: string, cause?: unknown): LiaisonError =>
    new LiaisonError(
      'object_not_found',
      `Salesforce has no object "${name}" visible to this user; see 'liaison crm objects'`,
      cause === undefined ? {} : { cause },
    );

  // The object's describe is asked for directly (its answer carries the canonical name): no describeGlobal round
  // trip before it. Only API names reach the URL; Salesforce answers 404 NOT_FOUND for an object it does not have.
  const fetchDescribe = async (name: string): Promise<ObjectMetadata> => {
    if (!API_NAME.test(name)) throw noSuchObject(name);
    try {
      return mapDescribe(
        await session.json({
          method: 'GET',
          path: `/services/data/v${version}/sobjects/${name}/describe/`,
          headers: { Accept: 'application/json' },
          idempotent: true,
          what: `describe ${name}`,
        }),
      );
    } catch (error) {
      const status = isLiaisonError(error) ? error.details.status : undefined;
      if (isLiaisonError(error) && (error.code === 'object_not_found' || status === 404))
        throw noSuchObject(name, error);
      throw error;
    }
  };

  const describe = (name: string, fresh = false): Promise<ObjectMetadata> => {
    const key = name.toLowerCase();
    if (fresh) described.delete(key);
    let pending = described.get(key);
    if (!pending) {
      const started = fetchDescribe(name);
      pending = started;
      described.set(key, started);
      started.catch(() => {
        if (described.get(key) === started) described.delete(key);
      });
    }
    return pending;
  };

  /**
   * A first read of an object sends its opening requests while the describe is on its way (see EarlyAnswers);
   * once the object is described, compiling costs no round trip and there is nothing to win.
   */
  const askEarly = async (request: QueryRequest): Promise<SalesforceEarlyAnswers | undefined> => {
    const guess = described.has(request.object.toLowerCase()) ? undefined : guessedDescribe(request);
    if (!guess) return undefined;
    const guessed: QueryContext = { ...ctx, describe: () => Promise.resolve(guess) };
    const opening = openingRequests(guessed, await compileQuery(guessed, request), request, options.slices);
    if (opening.length === 0) return undefined;
    const early = earlyAnswers(session);
    for (const call of opening) early.ask(call);
    return early;
  };

  const ctx: QueryContext = {
    session,
    apiVersion: version,
    describe: (name) => describe(name),
    objectByKeyPrefix: () => {
      prefixes ??= describeGlobal().then(
        (list) => new Map(list.filter((o) => o.keyPrefix).map((o) => [o.keyPrefix as string, o.name])),
      );
      return prefixes;
    },
  };

  return {
    kind: 'salesforce',
    capabilities: CAPABILITIES,
    get apiCalls() {
      return http.apiCalls;
    },

    async testConnection(): Promise<ConnectionTestResult> {
      const token = await session.token();
      const versions = await session.json({
        method: 'GET',
        path: '/services/data/',
        headers: { Accept: 'application/json' },
        idempotent: true,
        what: 'list API versions',
      });
      const available = Array.isArray(versions)
        ? versions
            .map((v) => (v && typeof v === 'object' ? String((v as { version?: unknown }).version) : ''))
            .filter(Boolean)
        : [];
      if (!available.includes(version)) {
        throw new LiaisonError(
          'unsupported_version',
          `Salesforce at ${token.instanceUrl} does not offer API version ${version} (it offers ${available.slice(-5).join(', ') || 'none'}); choose one of those with --api-version`,
          { details: { availableVersions: available } },
        );
      }
      // The identity service names the user the token acts for (for client credentials: the "run as" user).
      let identity = settings.auth.username ?? token.identityUrl?.split('/').filter(Boolean).pop() ?? 'unknown';
      if (token.identityUrl) {
        const who = await session.json({
          method: 'GET',
          path: token.identityUrl,
          headers: { Accept: 'application/json' },
          idempotent: true,
          what: 'identity',
        });
        const username = who && typeof who === 'object' ? (who as { username?: unknown }).username : undefined;
        if (typeof username === 'string') identity = username;
      }
      return {
        ok: true,
        identity,
        instanceUrl: token.instanceUrl,
        apiVersion: version,
        availableVersions: available,
        apiCalls: http.apiCalls,
      };
    },

    async listObjects(): Promise<ObjectSummary[]> {
      return (await describeGlobal(true)).map(({ keyPrefix: _keyPrefix, ...summary }) => summary);
    },

    describeObject: (name) => describe(name, true),

    query(request: QueryRequest): AsyncIterable<RecordPage> {
      return (async function* () {
        const early = await askEarly(request);
        const reader: QueryContext = early ? { ...ctx, early } : ctx;
        try {
          const compiled = await compileQuery(reader, request);
          yield* runSliced(reader, compiled, request, options.slices) ?? runCompiled(reader, compiled, request);
        } finally {
          early?.dispose();
        }
      })();
    },

    readDeleted: (request) => readDeleted(ctx, request),

    writeBatch: (request, items) => writeCollection(ctx, request, items),

    bulkWrite: (request, items) => bulkWrite(ctx, request, items, options.bulk),

    async close(): Promise<void> {
      http.close();
    },
  };
}
