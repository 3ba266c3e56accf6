import { createPrivateKey } from 'node:crypto';
import { SignJWT } from 'jose';
import { LiaisonError } from '../../core/errors.js';
import type { AuthSettings, ConnectionSettings } from '../driver.js';
import { requireHttpsUrl } from '../http/tls.js';
import { httpError, parseApiErrors, tokenError } from './salesforce-errors.js';
import {
  parseJson,
  type HttpAnswer,
  type HttpCall,
  type HttpStreamAnswer,
  type SalesforceHttp,
} from './salesforce-http.js';

/** What a token request yields: the bearer token and where the org's data API lives. */
export interface SalesforceToken {
  accessToken: string;
  instanceUrl: string;
  /** Identity URL `https://login.../id/<orgId>/<userId>`. */
  identityUrl?: string;
}

/** An authenticated call: `path` is relative to the instance URL (leading slash optional) or absolute on it. */
export type ApiCall = Omit<HttpCall, 'url'> & { path: string; what: string };

/**
 * Holds the token and makes authenticated calls. A 401 INVALID_SESSION_ID re-acquires the token once (shared by
 * every call that failed with the same stale token) and retries the call once; any other non-2xx becomes a
 * LiaisonError via `httpError`.
 */
export class SalesforceSession {
  private current: Promise<SalesforceToken> | undefined;

  constructor(
    private readonly settings: ConnectionSettings,
    private readonly http: SalesforceHttp,
  ) {}

  token(): Promise<SalesforceToken> {
    if (!this.current) {
      const pending = requestToken(this.settings, this.http);
      this.current = pending;
      // A failed token request must not stick: the next call tries again.
      pending.catch(() => {
        if (this.current === pending) this.current = undefined;
      });
    }
    return this.current;
  }

  /** Drops `stale` and fetches a new token, unless another caller already replaced it. */
  private async renew(stale: SalesforceToken): Promise<SalesforceToken> {
    const now = this.current ? await this.current.catch(() => undefined) : undefined;
    if (now && now.accessToken !== stale.accessToken) return now;
    this.current = undefined;
    return this.token();
  }

  async call(call: ApiCall): Promise<HttpAnswer> {
    const answer = await this.authorised(call, (http) => this.http.send(http));
    return answer as HttpAnswer;
  }

  /** Like `call` but a 2xx body comes back as a stream. */
  async callStream(call: ApiCall): Promise<HttpStreamAnswer> {
    const answer = await this.authorised(call, (http) => this.http.sendStream(http));
    return answer as HttpStreamAnswer;
  }

  async json(call: ApiCall): Promise<unknown> {
    return answerJson(await this.call(call), call.what);
  }

  private async authorised(
    call: ApiCall,
    send: (http: HttpCall) => Promise<HttpAnswer | HttpStreamAnswer>,
  ): Promise<HttpAnswer | HttpStreamAnswer> {
    let token = await this.token();
    for (let attempt = 0; ; attempt++) {
      const answer = await send({
        ...call,
        url: resolveUrl(token.instanceUrl, call.path, this.settings.url),
        headers: { ...call.headers, Authorization: `Bearer ${token.accessToken}` },
      });
      if (answer.status >= 200 && answer.status < 300) return answer;
      const body = 'body' in answer ? answer.body : '';
      // A one-shot stream cannot be re-sent; buffered bodies and reopenable ones (functions) are replayed.
      const replayable =
        call.body === undefined ||
        typeof call.body === 'string' ||
        Buffer.isBuffer(call.body) ||
        typeof call.body === 'function';
      if (answer.status === 401 && attempt === 0 && replayable && isExpiredSession(body)) {
        token = await this.renew(token);
        continue;
      }
      throw httpError(answer.status, body, call.what);
    }
  }
}

function isExpiredSession(body: string): boolean {
  const errors = parseApiErrors(body);
  // jsforce's rule: a session "not valid for use with the REST API" will not get better with a new token.
  return !!errors?.some(
    (e) => e.errorCode === 'INVALID_SESSION_ID' && !/not valid for use with the REST API/i.test(e.message),
  );
}

/** A path on the instance, or an absolute URL on the instance or login host (the identity URL lives there). */
export function resolveUrl(instanceUrl: string, path: string, loginUrl?: string): string {
  if (/^https?:\/\//i.test(path)) {
    const target = new URL(path);
    const allowed = [new URL(instanceUrl).origin, ...(loginUrl ? [new URL(loginUrl).origin] : [])];
    if (!allowed.includes(target.origin)) {
      throw new LiaisonError(
        'invalid_input',
        `refusing to send the session to ${target.origin}: not the instance or login URL`,
      );
    }
    return target.toString();
  }
  return new URL(path.startsWith('/') ? path : `/${path}`, instanceUrl).toString();
}

/** The token endpoint on the login / My Domain URL (keeps a path prefix such as an Experience Cloud site). */
export function tokenUrl(loginUrl: string): string {
  const base = requireHttpsUrl(loginUrl, 'Salesforce URL');
  const prefix = base.pathname.replace(/\/+$/, '');
  return `${base.origin}${prefix}/services/oauth2/token`;
}

/**
 * The JWT `aud`: Salesforce expects login.salesforce.com (production, My Domain included) or test.salesforce.com
 * (sandboxes); any other host (an Experience Cloud site, a private test server) is its own audience.
 */
export function jwtAudience(loginUrl: string): string {
  const url = new URL(loginUrl);
  const host = url.hostname.toLowerCase();
  if (host === 'login.salesforce.com' || host === 'test.salesforce.com') return url.origin;
  if (host.endsWith('.sandbox.my.salesforce.com')) return 'https://test.salesforce.com';
  if (host.endsWith('.my.salesforce.com')) return 'https://login.salesforce.com';
  return url.origin;
}

function need(auth: AuthSettings, key: keyof AuthSettings): string {
  const value = auth[key];
  if (!value)
    throw new LiaisonError(
      'invalid_input',
      `Salesforce ${auth.mode} authentication needs ${key}; set it on the account`,
    );
  return value;
}

export async function tokenRequestBody(settings: ConnectionSettings): Promise<URLSearchParams> {
  const auth = settings.auth;
  switch (auth.mode) {
    case 'client-credentials':
      return new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: need(auth, 'clientId'),
        client_secret: need(auth, 'clientSecret'),
      });
    case 'password':
      return new URLSearchParams({
        grant_type: 'password',
        client_id: need(auth, 'clientId'),
        client_secret: need(auth, 'clientSecret'),
        username: need(auth, 'username'),
        password: need(auth, 'password') + (auth.securityToken ?? ''),
      });
    case 'jwt': {
      let key;
      try {
        key = createPrivateKey(need(auth, 'privateKey'));
      } catch (error) {
        if (error instanceof LiaisonError) throw error;
        throw new LiaisonError(
          'invalid_input',
          'the JWT private key is not a readable PEM private key; give the PEM text of the key whose certificate is on the connected app',
        );
      }
      const assertion = await new SignJWT({})
        .setProtectedHeader({ alg: 'RS256' })
        .setIssuer(need(auth, 'clientId'))
        .setSubject(need(auth, 'username'))
        .setAudience(jwtAudience(settings.url))
        .setExpirationTime('3m')
        .sign(key);
      return new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', assertion });
    }
    default:
      throw new LiaisonError(
        'invalid_input',
        `unknown Salesforce auth mode "${auth.mode}"; use client-credentials, jwt or password`,
      );
  }
}

async function requestToken(settings: ConnectionSettings, http: SalesforceHttp): Promise<SalesforceToken> {
  const url = tokenUrl(settings.url);
  const body = await tokenRequestBody(settings);
  // Asking for a token has no side effect worth guarding, so transient failures are retried like a GET.
  const answer = await http.send({
    method: 'POST',
    url,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json' },
    body: body.toString(),
    idempotent: true,
  });
  if (answer.status < 200 || answer.status >= 300) throw tokenError(answer.status, answer.body, url);
  const parsed = parseJson(answer.body, `token request to ${url}`) as Record<string, unknown>;
  const accessToken = parsed.access_token;
  const instanceUrl = parsed.instance_url;
  if (typeof accessToken !== 'string' || typeof instanceUrl !== 'string') {
    throw new LiaisonError('auth_failed', `token request to ${url} answered without access_token/instance_url`);
  }
  if (/\.lightning\.force\.com$/i.test(new URL(instanceUrl).hostname)) {
    throw new LiaisonError(
      'invalid_input',
      `the token answer names a Lightning URL (${instanceUrl}) as instance; use the My Domain URL`,
    );
  }
  requireHttpsUrl(instanceUrl, 'Salesforce instance URL');
  return {
    accessToken,
    instanceUrl: instanceUrl.replace(/\/+$/, ''),
    ...(typeof parsed.id === 'string' ? { identityUrl: parsed.id } : {}),
  };
}

/** A 2xx answer's JSON (undefined for an empty body). */
export function answerJson(answer: HttpAnswer, what: string): unknown {
  return answer.body.trim() === '' ? undefined : parseJson(answer.body, what);
}
