/**
 * Maps what Dataverse and Entra ID answer (OData error bodies, AADSTS token errors, socket failures) to
 * LiaisonError codes, keeping the server's own code and message so a user can look them up.
 */
import { LiaisonError } from '../../core/errors.js';

export interface ODataError {
  code: string;
  message: string;
}

/** Reads `{"error":{"code","message"}}`; undefined when the body is not an OData error. */
export function parseODataError(body: string): ODataError | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: { code?: unknown; message?: unknown } };
    if (parsed && typeof parsed === 'object' && parsed.error && typeof parsed.error === 'object') {
      return {
        code: typeof parsed.error.code === 'string' ? parsed.error.code : '',
        message: typeof parsed.error.message === 'string' ? parsed.error.message : '',
      };
    }
  } catch {
    // Not JSON (an HTML error page from a proxy, an empty body): the caller reports the HTTP status instead.
  }
  return undefined;
}

/** Turns a non-success Dataverse answer into the error a user can act on. */
export function httpFailure(status: number, body: string, what: string): LiaisonError {
  const odata = parseODataError(body);
  const details = { status, ...(odata ? { crmCode: odata.code } : {}) };
  const said = odata ? `${odata.code ? `${odata.code}: ` : ''}${odata.message}` : `HTTP ${status}`;
  if (status === 401)
    return new LiaisonError(
      'auth_failed',
      `Dataverse refused the access token for ${what} (${said}); check the application user exists in the environment`,
      { details },
    );
  if (status === 403)
    return new LiaisonError(
      'auth_failed',
      `Dataverse denied ${what} (${said}); give the application user a security role with access`,
      { details },
    );
  if (status === 429)
    return new LiaisonError(
      'rate_limited',
      `Dataverse service protection limit hit during ${what} (${said}); retry later`,
      { details },
    );
  if (odata) return new LiaisonError('crm_error', `Dataverse rejected ${what}: ${said}`, { details });
  return new LiaisonError('http_error', `Dataverse answered HTTP ${status} to ${what}`, { details });
}

const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_HAS_EXPIRED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'ERR_SSL_WRONG_VERSION_NUMBER',
  'EPROTO',
]);

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown })?.code;
  return typeof code === 'string' ? code : '';
}

/** A socket-level failure (DNS, TLS, reset, timeout) as a LiaisonError naming the host and the fix. */
export function networkFailure(error: unknown, url: string): LiaisonError {
  if (error instanceof LiaisonError) return error;
  const code = errorCode(error);
  const host = safeHost(url);
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') {
    return new LiaisonError('dns_error', `cannot resolve ${host} (${code}); check the URL`, {
      cause: error,
      details: { code },
    });
  }
  if (TLS_CODES.has(code) || /certificate|SSL|TLS/i.test(message)) {
    return new LiaisonError(
      'tls_error',
      `TLS verification of ${host} failed (${code || message}); if the server uses a private CA, pass it with --ca-file`,
      {
        cause: error,
        details: { code },
      },
    );
  }
  if (code === 'ETIMEDOUT' || (error as Error)?.name === 'TimeoutError') {
    return new LiaisonError(
      'timeout',
      `${host} did not answer in time; check connectivity or raise the request timeout`,
      { cause: error, details: { code } },
    );
  }
  return new LiaisonError('network_error', `connection to ${host} failed (${code || message})`, {
    cause: error,
    details: { code },
  });
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'the server';
  }
}

/** Extracts `AADSTS7000215` from an Entra error description. */
export function aadstsCode(text: string): string | undefined {
  return /AADSTS\d+/.exec(text)?.[0];
}

/** Entra's token error (an msal ServerError or our own parse of the body) as `auth_failed`, AADSTS code kept. */
export function tokenFailure(error: unknown): LiaisonError {
  if (error instanceof LiaisonError) return error;
  const e = error as { errorCode?: unknown; errorMessage?: unknown; message?: unknown };
  const oauthCode = typeof e?.errorCode === 'string' ? e.errorCode : 'unknown_error';
  const description =
    typeof e?.errorMessage === 'string' && e.errorMessage
      ? e.errorMessage
      : typeof e?.message === 'string'
        ? e.message
        : String(error);
  const aadsts = aadstsCode(description);
  // The human part comes first; Entra appends trace/correlation ids and a timestamp (on new lines or inline).
  const firstLine = description.split(/\r?\n|\s+Trace ID:/)[0]?.trim() ?? '';
  return new LiaisonError(
    'auth_failed',
    `Entra ID refused the token request (${oauthCode}${aadsts && !firstLine.includes(aadsts) ? ` ${aadsts}` : ''}): ${firstLine}`,
    {
      cause: error,
      details: { oauthCode, ...(aadsts ? { aadsts } : {}) },
    },
  );
}
