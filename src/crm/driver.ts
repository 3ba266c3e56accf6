import type { FilterExpr } from './filter.js';
import type { ObjectMetadata, ObjectSummary } from './metadata.js';

/**
 * The one interface every CRM driver implements. It is shaped around what Liaison does (discover, read pages,
 * read deletions, write batches), not around any one CRM's API: Salesforce's SOQL and Dataverse's OData both
 * compile from the same `QueryRequest`, and both return neutral records keyed by field API name.
 */

export type CrmKind = 'salesforce' | 'dynamics';

/** Decrypted connection settings handed to a driver. Secrets here are plain: never log this object. */
export interface ConnectionSettings {
  kind: CrmKind;
  /** Salesforce login / My Domain URL, or the Dataverse org URL. Always https. */
  url: string;
  apiVersion: string;
  auth: AuthSettings;
  /** PEM file of a private CA, added to (not replacing) the trusted roots. */
  caFile?: string;
  /** Per-request timeout; a request that has not completed by then is aborted and retried or reported. */
  requestTimeoutMs?: number;
}

export interface AuthSettings {
  /** Salesforce: client-credentials | jwt | password. Dynamics: client-secret | certificate | password. */
  mode: string;
  clientId?: string;
  clientSecret?: string;
  username?: string;
  password?: string;
  securityToken?: string;
  /** PEM text of the private key (JWT bearer, client certificate). */
  privateKey?: string;
  /** PEM text of the client certificate (Dynamics certificate auth). */
  certificate?: string;
  tenant?: string;
  /** Token host for Dynamics (default Microsoft's login host). */
  authorityUrl?: string;
}

export interface DriverCapabilities {
  /** The CRM can write many records per call (sObject Collections, $batch). */
  batchWrite: boolean;
  /** Largest batch the CRM accepts for `writeBatch`. */
  maxBatchSize: number;
  /** A bulk job API for large volumes (Salesforce Bulk API 2.0). */
  bulkWrite: boolean;
  /** Upsert by an external-id field or alternate key. */
  upsertByExternalId: boolean;
  /** Server-side change tracking that reports deletions (Dataverse delta links). */
  changeTracking: boolean;
  /** Reading deleted/archived rows together with live ones (Salesforce queryAll). */
  queryIncludesDeleted: boolean;
  /** Largest page the CRM returns for one query call. */
  maxPageSize: number;
  /** How many ids one "fetch by ids" call can carry before the driver must split it. */
  maxIdsPerQuery: number;
}

export interface ConnectionTestResult {
  ok: true;
  /** Who we are connected as (user name or id). */
  identity: string;
  /** The URL data calls go to (Salesforce instance URL, Dataverse org URL). */
  instanceUrl: string;
  apiVersion: string;
  availableVersions: string[];
  apiCalls: number;
}

export interface SortKey {
  field: string;
  direction: 'asc' | 'desc';
}

export interface QueryRequest {
  object: string;
  /** Field API names; the id and modstamp fields are always included by the driver. */
  fields: string[];
  filter?: FilterExpr;
  /** Only records whose modstamp is >= from (and < to when given). */
  modifiedSince?: { field?: string; from?: string; to?: string };
  /** Only these record ids (the driver splits into as few calls as the CRM allows). */
  ids?: string[];
  orderBy?: SortKey[];
  /** Include deleted/archived records (Salesforce queryAll). */
  includeDeleted?: boolean;
  pageSize?: number;
  limit?: number;
  signal?: AbortSignal;
  /**
   * The object and field names come from an earlier describe (a schema the wizard generated): the driver may send
   * its first requests before it has described the object again, rather than one round trip after. Without it, a
   * misspelt name is refused before any query is sent.
   */
  namesDescribed?: boolean;
  /** With `namesDescribed`: the object's collection name that describe gave (Dataverse entity set), when it has one. */
  collectionName?: string;
}

/**
 * A neutral record: values keyed by field API name. Values are normalised: datetimes are ISO-8601 UTC strings
 * (`2024-01-15T10:20:30.000Z`), dates `YYYY-MM-DD`, multi-select picklists string arrays, references the target id
 * (plus `<field>@target` with the target object for polymorphic references), numbers as numbers.
 */
export interface CrmRecord {
  id: string;
  values: Record<string, unknown>;
}

export interface RecordPage {
  records: CrmRecord[];
  /** Total matching records when the CRM reports it (first page only). */
  totalSize?: number;
}

export interface DeletedRequest {
  object: string;
  /** Window start (ISO); ignored when `cursor` is given. */
  since?: string;
  until?: string;
  /** Opaque cursor from a previous read (a Dataverse delta link). */
  cursor?: string;
  signal?: AbortSignal;
}

export interface DeletedRecord {
  id: string;
  deletedAt?: string;
}

export interface DeletedResult {
  records: AsyncIterable<DeletedRecord[]>;
  /** Earliest date the CRM still covers; a window starting before it is incomplete. */
  earliestDateAvailable?: string;
  /** Cursor to pass next time, available once `records` is drained. */
  nextCursor(): string | undefined;
}

export type WriteOperation = 'insert' | 'update' | 'upsert' | 'delete';

export interface WriteItem {
  /** Caller's correlation key (e.g. the local row id); echoed in the outcome. */
  ref: string;
  /** CRM id: required for update and delete. */
  id?: string;
  values: Record<string, unknown>;
}

export interface WriteRequest {
  object: string;
  operation: WriteOperation;
  /** For upsert: the external-id field / alternate key. */
  externalIdField?: string;
  /** Salesforce assignment rules on insert; other drivers ignore it. */
  useAssignmentRules?: boolean;
  signal?: AbortSignal;
}

export type WriteOutcome =
  | { ref: string; ok: true; id: string; created: boolean }
  | { ref: string; ok: false; code: string; message: string; fields?: string[] };

export interface CrmDriver {
  readonly kind: CrmKind;
  readonly capabilities: DriverCapabilities;
  /** Number of HTTP calls made to the CRM so far (auth included), since CRMs ration them. */
  readonly apiCalls: number;
  testConnection(): Promise<ConnectionTestResult>;
  listObjects(): Promise<ObjectSummary[]>;
  describeObject(name: string): Promise<ObjectMetadata>;
  /** Streams pages; memory stays flat whatever the result size. */
  query(request: QueryRequest): AsyncIterable<RecordPage>;
  readDeleted(request: DeletedRequest): Promise<DeletedResult>;
  /** One batch of at most `capabilities.maxBatchSize` items; per-record outcomes, in input order. */
  writeBatch(request: WriteRequest, items: WriteItem[]): Promise<WriteOutcome[]>;
  /** Large volumes through a bulk job API, when `capabilities.bulkWrite`. */
  bulkWrite?(request: WriteRequest, items: AsyncIterable<WriteItem>): AsyncIterable<WriteOutcome>;
  close(): Promise<void>;
}

/** What each driver folder exports to the registry. */
export interface DriverModule {
  kind: CrmKind;
  label: string;
  defaultApiVersion: string;
  /** Auth modes, the settings each one requires, and a warning to show when one is chosen. */
  authModes: Record<string, { required: (keyof AuthSettings)[]; warning?: string }>;
  /** Every URL the account will call for tokens (checked for https before saving). */
  tokenUrls(settings: Pick<ConnectionSettings, 'url' | 'auth'>): string[];
  createDriver(settings: ConnectionSettings): CrmDriver;
}
