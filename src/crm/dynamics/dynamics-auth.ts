/**
 * Entra ID tokens for Dataverse through @azure/msal-node, for the three auth modes. msal's HTTP goes through our
 * own network client so the account's CA is trusted (TLS stays verified), every token call is counted and bounded
 * by the request timeout, and a socket failure keeps its real cause (msal reduces it to "network_error").
 */
import { createHash, X509Certificate } from 'node:crypto';
import { ConfidentialClientApplication, PublicClientApplication, type Configuration } from '@azure/msal-node';
import type { INetworkModule, NetworkRequestOptions, NetworkResponse } from '@azure/msal-node';
import { LiaisonError } from '../../core/errors.js';
import { backoffDelay, DEFAULT_RETRY, sleep } from '../http/retry.js';
import type { ConnectionSettings } from '../driver.js';
import { DEFAULT_AUTHORITY_URL } from './dynamics-module.js';
import { networkFailure, tokenFailure } from './dynamics-errors.js';
import type { HttpTransport } from './dynamics-http.js';

const TOKEN_ATTEMPTS = 3;

/** Hands out a valid bearer token, renewing it shortly before expiry or when forced after a 401. */
export interface TokenProvider {
  /** `rejected`: the token a 401 refused; renewal is skipped when a concurrent call already replaced it. */
  token(options?: { force?: boolean; rejected?: string }): Promise<string>;
}

/** msal's INetworkModule on our transport; remembers the last socket failure so it can be reported exactly. */
class MsalNetworkClient implements INetworkModule {
  lastFailure: LiaisonError | undefined;

  constructor(private readonly transport: HttpTransport) {}

  sendGetRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('GET', url, options);
  }

  sendPostRequestAsync<T>(url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    return this.send<T>('POST', url, options);
  }

  private async send<T>(method: string, url: string, options?: NetworkRequestOptions): Promise<NetworkResponse<T>> {
    let response;
    try {
      response = await this.transport.send({ method, url, headers: options?.headers ?? {}, body: options?.body });
    } catch (error) {
      this.lastFailure = networkFailure(error, url);
      throw this.lastFailure;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    let body: unknown;
    try {
      body = JSON.parse(response.body);
    } catch {
      this.lastFailure = new LiaisonError(
        'http_error',
        `the token endpoint answered HTTP ${response.status} without JSON; check the authority URL`,
        {
          details: { status: response.status },
        },
      );
      throw this.lastFailure;
    }
    return { headers, body: body as T, status: response.status };
  }
}

/** Hex SHA-256 thumbprint of a PEM certificate (what Entra shows as the credential's thumbprint, x5t#S256). */
export function certificateThumbprintSha256(certificatePem: string): string {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certificatePem);
  } catch (error) {
    throw new LiaisonError(
      'invalid_input',
      'the client certificate is not a valid PEM certificate; pass the public certificate uploaded to the app registration',
      { cause: error },
    );
  }
  return createHash('sha256').update(cert.raw).digest('hex');
}

/** Hex SHA-1 thumbprint (x5t), accepted by every Entra deployment including older ADFS. */
export function certificateThumbprintSha1(certificatePem: string): string {
  return createHash('sha1').update(new X509Certificate(certificatePem).raw).digest('hex');
}

function required(
  settings: ConnectionSettings,
  key: 'tenant' | 'clientId' | 'clientSecret' | 'privateKey' | 'certificate' | 'username' | 'password',
): string {
  const value = settings.auth[key];
  if (!value)
    throw new LiaisonError(
      'invalid_input',
      `Dynamics ${settings.auth.mode} authentication needs --${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`,
    );
  return value;
}

/** Builds the token provider for `settings.auth.mode`. */
export function createTokenProvider(settings: ConnectionSettings, transport: HttpTransport): TokenProvider {
  const network = new MsalNetworkClient(transport);
  const authorityBase = (settings.auth.authorityUrl ?? DEFAULT_AUTHORITY_URL).replace(/\/+$/, '');
  const tenant = encodeURIComponent(required(settings, 'tenant'));
  const authority = `${authorityBase}/${tenant}`;
  const clientId = required(settings, 'clientId');
  const orgUrl = new URL(settings.url).origin;
  const scopes = [`${orgUrl}/.default`];
  // Endpoint metadata follows Entra's fixed layout, so msal need not fetch the OpenID document (one call fewer),
  // and a host other than Microsoft's (sovereign cloud, sandbox) is declared known instead of instance-discovered.
  const authorityMetadata = JSON.stringify({
    token_endpoint: `${authority}/oauth2/v2.0/token`,
    authorization_endpoint: `${authority}/oauth2/v2.0/authorize`,
    end_session_endpoint: `${authority}/oauth2/v2.0/logout`,
    issuer: `${authority}/v2.0`,
    jwks_uri: `${authority}/discovery/v2.0/keys`,
  });
  const config: Configuration = {
    auth: { clientId, authority, knownAuthorities: [new URL(authorityBase).host], authorityMetadata },
    system: { networkClient: network, disableInternalRetries: true },
  };

  let acquire: () => Promise<{ accessToken: string; expiresOn: Date | null } | null>;
  switch (settings.auth.mode) {
    case 'client-secret': {
      const app = new ConfidentialClientApplication({
        ...config,
        auth: { ...config.auth, clientSecret: required(settings, 'clientSecret') },
      });
      acquire = () => app.acquireTokenByClientCredential({ scopes, skipCache: true });
      break;
    }
    case 'certificate': {
      const certificate = required(settings, 'certificate');
      const app = new ConfidentialClientApplication({
        ...config,
        auth: {
          ...config.auth,
          clientCertificate: {
            thumbprintSha256: certificateThumbprintSha256(certificate),
            privateKey: required(settings, 'privateKey'),
            x5c: certificate,
          },
        },
      });
      acquire = () => app.acquireTokenByClientCredential({ scopes, skipCache: true });
      break;
    }
    case 'password': {
      const app = new PublicClientApplication(config);
      const username = required(settings, 'username');
      const password = required(settings, 'password');
      acquire = () => app.acquireTokenByUsernamePassword({ scopes, username, password });
      break;
    }
    default:
      throw new LiaisonError(
        'invalid_input',
        `unknown Dynamics auth mode "${settings.auth.mode}": use client-secret, certificate or password`,
      );
  }

  let current: { token: string; renewAt: number } | undefined;
  let pending: Promise<string> | undefined;

  const fetchToken = async (): Promise<string> => {
    let result;
    for (let attempt = 1; ; attempt++) {
      network.lastFailure = undefined;
      try {
        result = await acquire();
        break;
      } catch (error) {
        const failure = network.lastFailure ?? tokenFailure(error);
        // A token request changes nothing server-side, so a dropped connection or timeout is simply retried.
        if (attempt < TOKEN_ATTEMPTS && (failure.code === 'network_error' || failure.code === 'timeout')) {
          await sleep(backoffDelay(attempt, DEFAULT_RETRY));
          continue;
        }
        throw failure;
      }
    }
    if (!result?.accessToken) throw new LiaisonError('auth_failed', 'Entra ID returned no access token');
    const now = Date.now();
    const expires = result.expiresOn ? result.expiresOn.getTime() : now + 3_600_000;
    // Renew a minute early (or at 80% of a short lifetime) so a page request never starts with a dying token.
    const margin = Math.min(60_000, (expires - now) * 0.2);
    current = { token: result.accessToken, renewAt: expires - margin };
    return result.accessToken;
  };

  return {
    async token(options = {}) {
      if (
        current &&
        Date.now() < current.renewAt &&
        (!options.force || (options.rejected !== undefined && options.rejected !== current.token))
      ) {
        return current.token;
      }
      // Concurrent callers (prefetching pages) share one token call.
      pending ??= fetchToken().finally(() => {
        pending = undefined;
      });
      return pending;
    },
  };
}
