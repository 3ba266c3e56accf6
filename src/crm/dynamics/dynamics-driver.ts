/**
 * The Dynamics 365 / Dataverse driver: Web API v9.x over HTTPS, Entra ID tokens through msal-node.
 *
 * @example
 * const driver = createDynamicsDriver({ kind: 'dynamics', url: 'https://org.crm4.dynamics.com', apiVersion: '9.2',
 *   auth: { mode: 'client-secret', tenant, clientId, clientSecret } });
 * for await (const page of driver.query({ object: 'contact', fields: ['lastname'] })) { … }
 */
import { LiaisonError } from '../../core/errors.js';
import type {
  ConnectionSettings,
  ConnectionTestResult,
  CrmDriver,
  DeletedRequest,
  DeletedResult,
  DriverCapabilities,
  QueryRequest,
  RecordPage,
  WriteItem,
  WriteOutcome,
  WriteRequest,
} from '../driver.js';
import type { ObjectMetadata, ObjectSummary } from '../metadata.js';
import { requireHttpsUrl } from '../http/tls.js';
import { createTokenProvider } from './dynamics-auth.js';
import { MAX_BATCH_REQUESTS } from './dynamics-batch.js';
import { API_NAME, EarlyAnswers, sketchedMetadata } from '../early-answers.js';
import { DataverseClient, type ClientRequest } from './dynamics-client.js';
import { canPartition, PARTITION_FIELD, probeRequests } from './dynamics-partition.js';
import { httpFailure } from './dynamics-errors.js';
import { HttpTransport, type HttpResponse } from './dynamics-http.js';
import { OPTION_SET_CASTS, toObjectMetadata, toObjectSummary } from './dynamics-metadata.js';
import { encodeQuery, MAX_PAGE_SIZE, stringLiteral } from './dynamics-odata.js';
import { pageSizeOf, streamQuery, trackChanges } from './dynamics-query.js';
import { writeBatch } from './dynamics-write.js';

type Json = Record<string, unknown>;

const DEFAULT_TIMEOUT_MS = 120_000;
const DEFAULT_READ_PARALLELISM = 4;
const ENTITY_SELECT =
  'LogicalName,EntitySetName,DisplayName,DisplayCollectionName,IsCustomEntity,PrimaryIdAttribute,PrimaryNameAttribute';
const LOGICAL_NAME = /^[a-z][a-z0-9_]*$/;

const CAPABILITIES: DriverCapabilities = {
  batchWrite: true,
  maxBatchSize: MAX_BATCH_REQUESTS,
  bulkWrite: false,
  upsertByExternalId: true,
  changeTracking: true,
  queryIncludesDeleted: false,
  maxPageSize: MAX_PAGE_SIZE,
  maxIdsPerQuery: 100, // ids are split into (id eq … or …) chunks that keep URLs under 8,000 characters
};

/** Table names are logical names (lower case); anything else cannot name a table and is refused before any call. */
function logicalName(name: string): string {
  const lower = name.trim().toLowerCase();
  if (!LOGICAL_NAME.test(lower))
    throw new LiaisonError('object_not_found', `"${name}" is not a Dataverse table logical name`);
  return lower;
}

function rows(body: Json): Json[] {
  return Array.isArray(body.value) ? (body.value as Json[]) : [];
}

class DynamicsDriver implements CrmDriver {
  readonly kind = 'dynamics' as const;
  readonly capabilities = CAPABILITIES;
  private readonly transport: HttpTransport;
  private readonly client: DataverseClient;
  private readonly metadata = new Map<string, ObjectMetadata>();
  private readonly readMetadata = new Map<string, ObjectMetadata>();
  private readonly entitySets = new Map<string, string>();

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly options: DynamicsDriverOptions,
  ) {
    requireHttpsUrl(settings.url, 'Dataverse org URL');
    if (settings.auth.authorityUrl) requireHttpsUrl(settings.auth.authorityUrl, 'authority URL');
    this.transport = new HttpTransport(settings.caFile, settings.requestTimeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.client = new DataverseClient(
      settings.url,
      settings.apiVersion,
      this.transport,
      createTokenProvider(settings, this.transport),
    );
  }

  get apiCalls(): number {
    return this.transport.calls;
  }

  async testConnection(): Promise<ConnectionTestResult> {
    const response = await this.client.send({ method: 'GET', path: 'WhoAmI', idempotent: true, what: 'WhoAmI' });
    if (response.status === 404) {
      throw new LiaisonError(
        'unsupported_version',
        `${this.client.origin} does not serve Web API v${this.settings.apiVersion}; use --api-version 9.2`,
        {
          details: { status: 404, apiVersion: this.settings.apiVersion },
        },
      );
    }
    if (response.status !== 200) throw httpFailure(response.status, response.body, 'WhoAmI');
    let who: Json;
    try {
      who = JSON.parse(response.body) as Json;
    } catch (error) {
      throw new LiaisonError('crm_error', 'Dataverse answered WhoAmI with unreadable JSON', { cause: error });
    }
    if (typeof who.UserId !== 'string') throw new LiaisonError('crm_error', 'WhoAmI answered without a UserId');
    return {
      ok: true,
      identity: who.UserId,
      instanceUrl: this.client.origin,
      apiVersion: this.settings.apiVersion,
      // Dataverse publishes no list of Web API versions; the one that answered is the one we know works.
      availableVersions: [this.settings.apiVersion],
      apiCalls: this.apiCalls,
    };
  }

  async listObjects(): Promise<ObjectSummary[]> {
    const { body } = await this.client.json({
      method: 'GET',
      path: `EntityDefinitions?${encodeQuery([['$select', ENTITY_SELECT]])}`,
      idempotent: true,
      what: 'listing tables',
    });
    const out: ObjectSummary[] = [];
    for (const def of rows(body)) {
      if (typeof def.LogicalName === 'string' && typeof def.EntitySetName === 'string')
        this.entitySets.set(def.LogicalName, def.EntitySetName);
      out.push(toObjectSummary(def));
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  private entityPath(name: string): string {
    return `EntityDefinitions(LogicalName=${stringLiteral(logicalName(name))})`;
  }

  async describeObject(name: string): Promise<ObjectMetadata> {
    const base = this.entityPath(name);
    const get = (path: string, what: string): Promise<{ body: Json }> =>
      this.client.json({ method: 'GET', path, idempotent: true, what });
    const defResponse = await this.client.send({
      method: 'GET',
      path: `${base}?${encodeQuery([['$select', ENTITY_SELECT]])}`,
      idempotent: true,
      what: `describing ${name}`,
    });
    if (defResponse.status === 404) {
      throw new LiaisonError(
        'object_not_found',
        `Dataverse has no table "${name}"; check the name (the wizard lists the tables: liaison wizard ACCOUNT)`,
        { details: { object: name } },
      );
    }
    if (defResponse.status !== 200) throw httpFailure(defResponse.status, defResponse.body, `describing ${name}`);
    const def = JSON.parse(defResponse.body) as Json;
    const what = `describing ${name}`;
    const [attributes, keys, ...optionRows] = await Promise.all([
      get(`${base}/Attributes`, what),
      get(`${base}/Keys?${encodeQuery([['$select', 'KeyAttributes']])}`, what),
      ...OPTION_SET_CASTS.map((cast) =>
        get(
          `${base}/Attributes/Microsoft.Dynamics.CRM.${cast}?${encodeQuery([
            ['$select', 'LogicalName,DefaultFormValue'],
            ['$expand', 'OptionSet,GlobalOptionSet'],
          ])}`,
          what,
        ),
      ),
    ]);
    const keyLists = rows(keys.body).map((k) =>
      Array.isArray(k.KeyAttributes) ? k.KeyAttributes.filter((a): a is string => typeof a === 'string') : [],
    );
    const meta = toObjectMetadata(
      def,
      rows(attributes.body),
      optionRows.flatMap((r) => rows(r.body)),
      keyLists,
    );
    this.metadata.set(meta.name, meta);
    if (meta.collectionName) this.entitySets.set(meta.name, meta.collectionName);
    return meta;
  }

  private async meta(name: string): Promise<ObjectMetadata> {
    return this.metadata.get(logicalName(name)) ?? this.describeObject(name);
  }

  /**
   * What reading needs: the table and its column types, in 2 calls instead of describe's 7 (option sets and keys
   * play no part in compiling or mapping a query). A full describe, when one was made, serves as well.
   */
  private async readMeta(name: string): Promise<ObjectMetadata> {
    const known = this.metadata.get(logicalName(name)) ?? this.readMetadata.get(logicalName(name));
    if (known) return known;
    const base = this.entityPath(name);
    const what = `describing ${name}`;
    // Both at once: the attributes' URL needs only the name, so a read waits one round trip for its metadata, not two.
    const attributesAsked = this.client.json({ method: 'GET', path: `${base}/Attributes`, idempotent: true, what });
    attributesAsked.catch(() => undefined); // the table's own answer is reported first when both fail
    const defResponse = await this.client.send({
      method: 'GET',
      path: `${base}?${encodeQuery([['$select', ENTITY_SELECT]])}`,
      idempotent: true,
      what,
    });
    if (defResponse.status === 404) {
      throw new LiaisonError('object_not_found', `Dataverse has no table "${name}"; check the object of the schema`, {
        details: { object: name },
      });
    }
    if (defResponse.status !== 200) throw httpFailure(defResponse.status, defResponse.body, what);
    const attributes = await attributesAsked;
    const meta = toObjectMetadata(JSON.parse(defResponse.body) as Json, rows(attributes.body), [], []);
    this.readMetadata.set(meta.name, meta);
    if (meta.collectionName) this.entitySets.set(meta.name, meta.collectionName);
    return meta;
  }

  async *query(request: QueryRequest): AsyncIterable<RecordPage> {
    const parallelism = this.options.readParallelism ?? DEFAULT_READ_PARALLELISM;
    const early = request.includeDeleted ? undefined : this.askEarly(request, parallelism);
    try {
      const meta = await this.readMeta(request.object);
      if (request.includeDeleted) {
        throw new LiaisonError(
          'not_supported',
          'Dataverse cannot return deleted rows in a query; read deletions with change tracking (readDeleted)',
        );
      }
      yield* streamQuery(early ? this.client.withEarlyAnswers(early) : this.client, meta, request, parallelism);
    } finally {
      early?.dispose();
    }
  }

  /**
   * A first full read of a table whose names and entity set come from an earlier describe (the wizard's schema)
   * sends its two bound probes with the metadata calls instead of after them (see ../early-answers.ts). The probes
   * need only the entity set, the id (`<table>id`, the Dataverse convention), `modifiedon` and `createdon`.
   */
  private askEarly(request: QueryRequest, parallelism: number): EarlyAnswers<ClientRequest, HttpResponse> | undefined {
    const name = request.object.trim().toLowerCase();
    const collection = request.collectionName;
    if (!request.namesDescribed || !collection || request.filter) return undefined;
    if (!API_NAME.test(name) || !API_NAME.test(collection)) return undefined;
    if (this.metadata.has(name) || this.readMetadata.has(name)) return undefined;
    const guess = sketchedMetadata({
      name,
      idField: `${name}id`,
      modstampField: 'modifiedon',
      collectionName: collection,
      fields: [{ name: PARTITION_FIELD, type: 'datetime' }],
    });
    if (!canPartition(guess, request, parallelism)) return undefined;
    const early = new EarlyAnswers<ClientRequest, HttpResponse>(
      (call) => this.client.send(call),
      (call) => `${call.method} ${call.path} ${call.headers?.Prefer ?? ''}`,
    );
    for (const call of probeRequests(guess, request, this.client.apiRoot.length)) early.ask(call);
    return early;
  }

  async readDeleted(request: DeletedRequest): Promise<DeletedResult> {
    const meta = await this.readMeta(request.object);
    const pageSize = pageSizeOf(undefined);
    if (request.cursor) {
      const round = trackChanges(this.client, meta, this.client.url(request.cursor), pageSize, request.signal);
      return { records: round.deleted, nextCursor: round.deltaLink };
    }
    // No cursor: the first tracking query only sets the baseline; deletions before it cannot be known.
    const start = `${meta.collectionName ?? meta.name}?${encodeQuery([['$select', meta.idField]])}`;
    const round = trackChanges(this.client, meta, start, pageSize, request.signal);
    async function* baseline(): AsyncGenerator<never> {
      for await (const ignored of round.deleted) void ignored; // a fresh baseline has no deletions to report
    }
    return { records: baseline(), earliestDateAvailable: new Date().toISOString(), nextCursor: round.deltaLink };
  }

  async writeBatch(request: WriteRequest, items: WriteItem[]): Promise<WriteOutcome[]> {
    const meta = await this.meta(request.object);
    await this.resolveTargets(meta, items);
    return writeBatch(this.client, meta, request, items, {
      entitySet: (target) => {
        const set = this.entitySets.get(target);
        if (!set) throw new LiaisonError('invalid_input', `unknown lookup target table "${target}"`);
        return set;
      },
    });
  }

  /** Entity set names of the lookup targets these items write, fetched once per table. */
  private async resolveTargets(meta: ObjectMetadata, items: WriteItem[]): Promise<void> {
    const needed = new Set<string>();
    for (const field of meta.fields) {
      if (
        field.type !== 'reference' ||
        !items.some((item) => Object.keys(item.values).some((k) => k.toLowerCase() === field.name))
      )
        continue;
      for (const target of field.referenceTo ?? []) if (!this.entitySets.has(target)) needed.add(target);
    }
    for (const target of needed) {
      const { body } = await this.client.json({
        method: 'GET',
        path: `${this.entityPath(target)}?${encodeQuery([['$select', 'EntitySetName']])}`,
        idempotent: true,
        what: `resolving table ${target}`,
      });
      if (typeof body.EntitySetName === 'string') this.entitySets.set(target, body.EntitySetName);
    }
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

/** Tuning that is not part of an account's settings. */
export interface DynamicsDriverOptions {
  /** Concurrent createdon windows for full scans (1 = one stream with prefetch). Default 4. */
  readParallelism?: number;
}

/** Builds the Dataverse driver; no network call happens until the first method call. */
export function createDynamicsDriver(settings: ConnectionSettings, options: DynamicsDriverOptions = {}): CrmDriver {
  return new DynamicsDriver(settings, options);
}
