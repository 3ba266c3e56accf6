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
  stop(): Promise<void>;
}
