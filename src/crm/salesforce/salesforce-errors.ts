import { LiaisonError } from '../../core/errors.js';

/**
 * Maps what Salesforce (or the network under it) answers into LiaisonError codes. Kept apart from the transport so
 * the mapping is unit-testable from plain status/body pairs: the REST error array `[{errorCode, message, fields}]`,
 * the OAuth error `{error, error_description}`, and Node's network error codes.
 */

/** One entry of Salesforce's REST error array. */
export interface SalesforceApiError {
  errorCode: string;
  message: string;
  fields?: string[];
}

/** Parses the REST error array (or a single error object); undefined when the body is not that shape. */
export function parseApiErrors(body: string): SalesforceApiError[] | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  const list = Array.isArray(parsed) ? parsed : [parsed];
  const errors: SalesforceApiError[] = [];
  for (const entry of list) {
    if (!entry || typeof entry !== 'object') return undefined;
    const { errorCode, message, fields } = entry as Record<string, unknown>;
    if (typeof errorCode !== 'string') return undefined;
    errors.push({
      errorCode,
      message: typeof message === 'string' ? message : '',
      ...(Array.isArray(fields) ? { fields: fields.filter((f): f is string => typeof f === 'string') } : {}),
    });
  }
  return errors.length > 0 ? errors : undefined;
}

/** Parses an OAuth token error body. */
export function parseOAuthError(body: string): { error: string; description: string } | undefined {
  try {
    const parsed = JSON.parse(body) as unknown;
    if (parsed && typeof parsed === 'object' && typeof (parsed as { error?: unknown }).error === 'string') {
      const { error, error_description: description } = parsed as { error: string; error_description?: unknown };
      return { error, description: typeof description === 'string' ? description : '' };
    }
  } catch {
    // Not JSON: the caller reports the HTTP status instead.
  }
  return undefined;
}

/** A short, printable excerpt of a non-JSON body (HTML error pages), never more than a line. */
function excerpt(body: string): string {
  const text = body
    .replace(/<[^>]*>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  return text.length > 160 ? `${text.slice(0, 157)}...` : text;
}

/** The error for a non-2xx answer of the data API. `what` names the call (e.g. "query Contact"). */
export function httpError(status: number, body: string, what: string): LiaisonError {
  const errors = parseApiErrors(body);
  if (errors) {
    const first = errors[0] as SalesforceApiError;
    const text = errors.map((e) => `${e.errorCode}: ${e.message}`).join('; ');
    const details = { status, errorCode: first.errorCode, errors };
    if (first.errorCode === 'REQUEST_LIMIT_EXCEEDED') {
      return new LiaisonError(
        'api_limit_exceeded',
        `${what}: Salesforce refused the call (HTTP ${status} REQUEST_LIMIT_EXCEEDED: ${first.message}); wait for the org's API allowance to recover or raise the limit`,
        { details },
      );
    }
    if (first.errorCode === 'INVALID_SESSION_ID') {
      return new LiaisonError(
        'auth_failed',
        `${what}: HTTP ${status} ${text}; check the account's credentials and that the user may use the API`,
        { details },
      );
    }
    if (first.errorCode === 'INVALID_TYPE' || (first.errorCode === 'NOT_FOUND' && /sobject/i.test(what))) {
      return new LiaisonError('object_not_found', `${what}: HTTP ${status} ${text}`, { details });
    }
    if (first.errorCode === 'INVALID_FIELD' && /No such column/i.test(first.message)) {
      return new LiaisonError('field_not_found', `${what}: HTTP ${status} ${text}`, { details });
    }
    return new LiaisonError('crm_error', `${what}: HTTP ${status} ${text}`, { details });
  }
  const oauth = parseOAuthError(body);
  if (oauth) {
    return new LiaisonError('crm_error', `${what}: HTTP ${status} ${oauth.error}: ${oauth.description}`, {
      details: { status, errorCode: oauth.error },
    });
  }
  if (status === 410) {
    return new LiaisonError(
      'unsupported_version',
      `${what}: HTTP 410 Gone: the server retired this API version; choose a newer --api-version`,
      { details: { status } },
    );
  }
  if (status === 429) {
    return new LiaisonError('rate_limited', `${what}: HTTP 429 Too Many Requests; retry later`, {
      details: { status },
    });
  }
  const tail = body.trim() ? `: ${excerpt(body)}` : '';
  return new LiaisonError('http_error', `${what}: HTTP ${status}${tail}`, { details: { status } });
}

/** The error for a failed token request. Never includes the request (it carries secrets). */
export function tokenError(status: number, body: string, tokenUrl: string): LiaisonError {
  const oauth = parseOAuthError(body);
  if (oauth) {
    const hint =
      oauth.error === 'invalid_client_id' || oauth.error === 'invalid_client'
        ? 'check the client id and secret of the connected app'
        : oauth.error === 'invalid_grant'
          ? 'check the user, password/key and that the user is pre-authorised for the app'
          : 'check the account settings';
    return new LiaisonError(
      'auth_failed',
      `token request to ${tokenUrl} failed: HTTP ${status} ${oauth.error}: ${oauth.description}; ${hint}`,
      {
        details: { status, errorCode: oauth.error },
      },
    );
  }
  const base = httpError(status, body, `token request to ${tokenUrl}`);
  const code = status === 400 || status === 401 || status === 403 ? 'auth_failed' : base.code;
  return new LiaisonError(code, base.message, { details: { ...base.details } });
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'HOSTNAME_MISMATCH',
]);

/** Maps a Node network/TLS error to the closed error codes, naming the host and the exact cause. */
export function networkError(error: unknown, url: string): LiaisonError {
  if (error instanceof LiaisonError) return error;
  const code = (error as { code?: unknown })?.code;
  const codeText = typeof code === 'string' ? code : '';
  const message = error instanceof Error ? error.message : String(error);
  const host = safeHost(url);
  const details = { errorCode: codeText || undefined };
  if (codeText === 'ENOTFOUND' || codeText === 'EAI_AGAIN' || codeText === 'EAI_FAIL') {
    return new LiaisonError('dns_error', `cannot resolve host ${host} (${codeText}); check the URL`, {
      cause: error,
      details,
    });
  }
  if (
    TLS_CODES.has(codeText) ||
    codeText.startsWith('ERR_TLS') ||
    codeText.startsWith('ERR_SSL') ||
    /certificate/i.test(message)
  ) {
    return new LiaisonError(
      'tls_error',
      `TLS verification of ${host} failed (${codeText || 'TLS'}: ${message}); give the CA that signed the server certificate with --ca-file`,
      { cause: error, details },
    );
  }
  if (codeText === 'ETIMEDOUT' || (error as Error)?.name === 'TimeoutError') {
    return new LiaisonError('timeout', `request to ${host} timed out: ${message}`, { cause: error, details });
  }
  return new LiaisonError('network_error', `request to ${host} failed (${codeText || 'network'}: ${message})`, {
    cause: error,
    details,
  });
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the CRM';
  }
}
