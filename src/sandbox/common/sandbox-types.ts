/**
 * What every sandbox exposes, in-process (tests, demo, bench) and through `liaison sandbox start`.
 */
export interface SandboxStartOptions {
  /** 0 picks a free port. */
  port?: number;
  host?: string;
  /** Seeded contacts (and proportional accounts, leads…). */
  records?: number;
  seed?: number;
  /** Where the CA, keys and (for Salesforce --data) data live; a temp dir by default. */
  dataDir?: string;
  /** Access token lifetime in seconds. */
  tokenTtlSeconds?: number;
}

export interface SandboxInfo {
  /** Salesforce: the login URL (also the instance URL); Dynamics: the org URL. */
  url: string;
  caFile: string;
  /** Keyed by auth mode; each holds the values for the matching `liaison account add` flags. */
  credentials: Record<string, Record<string, string>>;
}

export interface SandboxHandle extends SandboxInfo {
  admin: SandboxAdmin;
  stop(): Promise<void>;
}

/** Faults a sandbox can inject, to test retries, resumption and limits. Rates are shares in [0, 1]. */
export interface SandboxFaults {
  /** Added to every response, in milliseconds (100 models a CRM across the internet). */
  latencyMs?: number;
  /** Share of data requests answered 503. */
  unavailableRate?: number;
  /** Share of data requests answered with the CRM's rate-limit error (429 / REQUEST_LIMIT_EXCEEDED). */
  rateLimitRate?: number;
  /** Share of data responses whose connection is reset mid-body. */
  resetRate?: number;
  /** Reset the connection mid-body on the Nth data request from now (1 = the next one), once. */
  resetOnRequest?: number;
  /** Fail every data request with 503 from now on (a CRM that went away), until cleared. */
  down?: boolean;
  /** Answer this many data requests from now, then fail every one with 503 as `down` does, until cleared. */
  downAfterRequests?: number;
}

/**
 * The in-process admin interface shared by both sandboxes (also served over HTTPS under `/_sandbox/` to loopback
 * clients only). Object and field names are the CRM's own (Salesforce `Contact`/`Email`, Dataverse
 * `contact`/`emailaddress1`); values are in the CRM's wire format.
 */
export interface SandboxAdmin {
  /** Requests counted since start or the last reset (every request, token calls included). */
  requestCount(): number;
  /** Requests counted per route kind since the last reset, e.g. { token: 1, query: 50, describe: 2 }. */
  requestCounts(): Record<string, number>;
  /** The route kinds of the requests since the last reset, in arrival order (the first 10,000). */
  requestKinds(): string[];
  resetRequestCount(): void;
  setFaults(faults: SandboxFaults): void;
  /** Makes every token issued so far expire now. */
  expireTokens(): void;
  createRecord(object: string, values: Record<string, unknown>, options?: { at?: Date }): string;
  updateRecord(object: string, id: string, values: Record<string, unknown>, options?: { at?: Date }): void;
  deleteRecord(object: string, id: string, options?: { at?: Date }): void;
  getRecord(object: string, id: string): Record<string, unknown> | undefined;
  countRecords(object: string, options?: { includeDeleted?: boolean }): number;
  /** Ids of live records, in creation order, at most `limit`. */
  listIds(object: string, limit: number): string[];
  /** Adds a field to an object's metadata (CRM-shaped definition: name, type, length, picklist values…). */
  addField(object: string, field: Record<string, unknown>): void;
  removeField(object: string, field: string): void;
  /** Changes a field's metadata (e.g. { length: 120 }). */
  changeField(object: string, field: string, patch: Record<string, unknown>): void;
  addPicklistValue(object: string, field: string, value: { value: string; label?: string; active?: boolean }): void;
}
