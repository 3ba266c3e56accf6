/**
 * One error class for everything Liaison reports, with a closed set of codes so callers (and the CLI's exit
 * handling) can branch on the kind of failure without parsing messages. Messages name the thing and the fix.
 *
 * @example throw new LiaisonError('account_not_found', `no external account named "${name}": see 'liaison account list'`)
 */
export type ErrorCode =
  | 'invalid_input'
  | 'insecure_url'
  | 'account_exists'
  | 'account_not_found'
  | 'secret_key'
  | 'store_unreachable'
  | 'not_a_store'
  | 'store_error'
  | 'tls_error'
  | 'dns_error'
  | 'network_error'
  | 'timeout'
  | 'auth_failed'
  | 'http_error'
  | 'crm_error'
  | 'rate_limited'
  | 'api_limit_exceeded'
  | 'object_not_found'
  | 'field_not_found'
  | 'unsupported_version'
  | 'schema_conflict'
  | 'schema_not_found'
  | 'enum_conflict'
  | 'workflow_invalid'
  | 'run_failed'
  | 'not_supported'
  | 'internal';

export class LiaisonError extends Error {
  readonly code: ErrorCode;
  /** Extra machine-readable facts (HTTP status, CRM error code…), never secrets. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: Record<string, unknown> } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LiaisonError';
    this.code = code;
    this.details = options.details ?? {};
  }
}

export function isLiaisonError(error: unknown, code?: ErrorCode): error is LiaisonError {
  return error instanceof LiaisonError && (code === undefined || error.code === code);
}

/** The message of anything thrown, for places that must report without crashing. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
