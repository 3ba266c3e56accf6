import { createHash, createPublicKey, randomUUID, timingSafeEqual, X509Certificate } from 'node:crypto';
import { type ApiRequest, type ApiResponse, jsonResponse } from './dynamics-http.js';
import { decodeJwt, signJwt, verifyJwtSignature } from './dynamics-jwt.js';

/**
 * The Microsoft Entra ID side: `/{tenant}/oauth2/v2.0/token` (client secret, certificate assertion, resource-owner
 * password), the OpenID metadata msal-node reads before its first token call, and bearer-token checks for the
 * Web API. Error bodies follow the AADSTS shape clients parse (`error`, `error_description`, `error_codes`…).
 */

export interface AuthSettings {
  /** Org URL without trailing slash, e.g. https://127.0.0.1:8443 */
  orgUrl: string;
  tenantId: string;
  tenantDomain: string;
  confidentialClientId: string;
  clientSecret: string;
  /** PEM of the app's registered certificate (for certificate credentials). */
  certificatePem: string;
  publicClientId: string;
  username: string;
  password: string;
  /** Object ids: the app's service principal and the password user. */
  appObjectId: string;
  userObjectId: string;
  signingKeyPem: string;
  tokenTtlSeconds: number;
}

/** Who a valid access token belongs to. */
export interface Principal {
  objectId: string;
  kind: 'app' | 'user';
}

interface IssuedToken {
  exp: number;
  principal: Principal;
}

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
const OIDC_SCOPES = new Set(['openid', 'profile', 'offline_access', 'email']);

function aadTimestamp(): string {
  return new Date().toISOString().replace('T', ' ').slice(0, 19) + 'Z';
}

export function aadError(status: number, error: string, code: number, description: string): ApiResponse {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  return jsonResponse(
    status,
    {
      error,
      error_description: `AADSTS${code}: ${description} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${aadTimestamp()}`,
      error_codes: [code],
      timestamp: aadTimestamp(),
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${code}`,
    },
    { 'Cache-Control': 'no-store, no-cache' },
  );
}

function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

export class DynamicsAuth {
  private readonly issued = new Map<string, IssuedToken>();
  private readonly sha1Thumbprint: string;
  private readonly sha256Thumbprint: string;
  private readonly certKey;

  constructor(private readonly settings: AuthSettings) {
    const cert = new X509Certificate(settings.certificatePem);
    this.sha1Thumbprint = createHash('sha1').update(cert.raw).digest('base64url');
    this.sha256Thumbprint = createHash('sha256').update(cert.raw).digest('base64url');
    this.certKey = createPublicKey(settings.certificatePem);
  }

  private knownTenant(tenant: string): boolean {
    const t = tenant.toLowerCase();
    return (
      t === this.settings.tenantId ||
      t === this.settings.tenantDomain.toLowerCase() ||
      t === 'organizations' ||
      t === 'common'
    );
  }

  tokenEndpoint(tenant: string): string {
    return `${this.settings.orgUrl}/${tenant}/oauth2/v2.0/token`;
  }

  /** GET /{tenant}/v2.0/.well-known/openid-configuration */
  openIdConfiguration(tenant: string): ApiResponse {
    if (!this.knownTenant(tenant)) return aadError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found.`);
    const base = `${this.settings.orgUrl}/${tenant}`;
    return jsonResponse(200, {
      token_endpoint: `${base}/oauth2/v2.0/token`,
      token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
      jwks_uri: `${this.settings.orgUrl}/${tenant}/discovery/v2.0/keys`,
      response_modes_supported: ['query', 'fragment', 'form_post'],
      subject_types_supported: ['pairwise'],
      id_token_signing_alg_values_supported: ['RS256'],
      response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
      scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
      issuer: `${this.settings.orgUrl}/${this.settings.tenantId}/v2.0`,
      request_uri_parameter_supported: false,
      userinfo_endpoint: `${this.settings.orgUrl}/oidc/userinfo`,
      authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
      device_authorization_endpoint: `${base}/oauth2/v2.0/devicecode`,
      http_logout_supported: true,
      frontchannel_logout_supported: true,
      end_session_endpoint: `${base}/oauth2/v2.0/logout`,
      claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nbf', 'name', 'oid', 'tid', 'preferred_username'],
      tenant_region_scope: 'EU',
      cloud_instance_name: 'sandbox.liaison.local',
    });
  }

  /** GET /{tenant}/discovery/v2.0/keys: the public key that signs the sandbox's tokens, as a JWKS. */
  keys(): ApiResponse {
    const jwk = createPublicKey(this.settings.signingKeyPem).export({ format: 'jwk' });
    return jsonResponse(200, { keys: [{ ...jwk, kid: 'sandbox', use: 'sig', alg: 'RS256' }] });
  }

  /** GET /common/discovery/instance (only used when a client does not list the host in knownAuthorities). */
  instanceDiscovery(): ApiResponse {
    const host = new URL(this.settings.orgUrl).host;
    return jsonResponse(200, {
      tenant_discovery_endpoint: `${this.settings.orgUrl}/${this.settings.tenantId}/v2.0/.well-known/openid-configuration`,
      'api-version': '1.1',
      metadata: [{ preferred_network: host, preferred_cache: host, aliases: [host] }],
    });
  }

  /** POST /{tenant}/oauth2/v2.0/token */
  token(request: ApiRequest, tenant: string): ApiResponse {
    if (!this.knownTenant(tenant))
      return aadError(
        400,
        'invalid_request',
        90002,
        `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID.`,
      );
    const form = new URLSearchParams(request.body);
    let clientId = form.get('client_id') ?? '';
    let clientSecret = form.get('client_secret');
    const basic = /^Basic\s+(.+)$/i.exec(request.headers.authorization ?? '');
    if (basic?.[1]) {
      const [id, secret] = Buffer.from(basic[1], 'base64').toString('utf8').split(':');
      clientId = decodeURIComponent(id ?? '');
      clientSecret = decodeURIComponent(secret ?? '');
    }
    const grant = form.get('grant_type');
    if (!grant)
      return aadError(
        400,
        'invalid_request',
        900144,
        "The request body must contain the following parameter: 'grant_type'.",
      );
    if (grant !== 'client_credentials' && grant !== 'password') {
      return aadError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${grant}'.`);
    }
    const s = this.settings;
    if (clientId !== s.confidentialClientId && clientId !== s.publicClientId) {
      return aadError(
        400,
        'unauthorized_client',
        700016,
        `Application with identifier '${clientId}' was not found in the directory '${s.tenantDomain}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      );
    }
    const scopeError = this.checkScope(form.get('scope'), grant);
    if (scopeError) return scopeError;
    if (grant === 'client_credentials') {
      if (clientId === s.publicClientId) {
        return aadError(
          401,
          'invalid_client',
          7000218,
          "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        );
      }
      const clientError = this.authenticateClient(form, clientSecret, tenant);
      if (clientError) return clientError;
      return this.issue({ objectId: s.appObjectId, kind: 'app' }, clientId, false);
    }
    if (clientId === s.publicClientId && (clientSecret || form.get('client_assertion'))) {
      return aadError(
        400,
        'invalid_request',
        700025,
        "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.",
      );
    }
    if (clientId === s.confidentialClientId) {
      const clientError = this.authenticateClient(form, clientSecret, tenant);
      if (clientError) return clientError;
    }
    const username = form.get('username') ?? '';
    const password = form.get('password') ?? '';
    if (username.toLowerCase() !== s.username.toLowerCase() || !sameSecret(password, s.password)) {
      return aadError(400, 'invalid_grant', 50126, 'Error validating credentials due to invalid username or password.');
    }
    return this.issue({ objectId: s.userObjectId, kind: 'user' }, clientId, true);
  }

  private checkScope(scope: string | null, grant: string): ApiResponse | undefined {
    const parts = (scope ?? '').split(/\s+/).filter(Boolean);
    const resources = parts.filter((p) => !OIDC_SCOPES.has(p));
    if (resources.length !== 1) {
      return aadError(
        400,
        'invalid_scope',
        70011,
        `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid.`,
      );
    }
    const scopeValue = resources[0]!;
    const m = /^(https:\/\/[^/]+)\/?(\.default|user_impersonation)$/.exec(scopeValue);
    if (!m || (grant === 'client_credentials' && m[2] !== '.default')) {
      return aadError(
        400,
        'invalid_scope',
        70011,
        `The provided value for the input parameter 'scope' is not valid. The scope ${scopeValue} is not valid.`,
      );
    }
    const org = new URL(this.settings.orgUrl);
    const asked = new URL(m[1]!);
    const sameOrg = asked.port === org.port && (asked.hostname === org.hostname || asked.hostname === 'localhost');
    if (!sameOrg) {
      return aadError(
        400,
        'invalid_resource',
        500011,
        `The resource principal named ${m[1]} was not found in the tenant named ${this.settings.tenantDomain}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant.`,
      );
    }
    return undefined;
  }

  /** Checks a confidential client's secret or certificate assertion. */
  private authenticateClient(
    form: URLSearchParams,
    clientSecret: string | null,
    tenant: string,
  ): ApiResponse | undefined {
    const s = this.settings;
    const assertion = form.get('client_assertion');
    if (assertion !== null) {
      if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
        return aadError(400, 'invalid_request', 50027, `Invalid client_assertion_type; expected '${ASSERTION_TYPE}'.`);
      }
      return this.checkAssertion(assertion, tenant);
    }
    if (!clientSecret)
      return aadError(
        401,
        'invalid_client',
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
      );
    if (!sameSecret(clientSecret, s.clientSecret)) {
      return aadError(
        401,
        'invalid_client',
        7000215,
        `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${s.confidentialClientId}'.`,
      );
    }
    return undefined;
  }

  private checkAssertion(assertion: string, tenant: string): ApiResponse | undefined {
    const jwt = decodeJwt(assertion);
    if (!jwt) return aadError(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
    const { header, claims } = jwt;
    const x5t = header['x5t#S256'] ?? header.x5t;
    const expected = header['x5t#S256'] !== undefined ? this.sha256Thumbprint : this.sha1Thumbprint;
    if (typeof x5t !== 'string' || x5t !== expected) {
      return aadError(
        401,
        'invalid_client',
        700027,
        `The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '${String(x5t)}']`,
      );
    }
    if (!verifyJwtSignature(jwt, this.certKey))
      return aadError(401, 'invalid_client', 700027, 'Client assertion failed signature validation.');
    const now = Math.floor(Date.now() / 1000);
    const exp = Number(claims.exp);
    const nbf = claims.nbf === undefined ? 0 : Number(claims.nbf);
    if (!Number.isFinite(exp) || exp < now - 300 || nbf > now + 300)
      return aadError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
    if (claims.iss !== this.settings.confidentialClientId || claims.sub !== this.settings.confidentialClientId) {
      return aadError(
        401,
        'invalid_client',
        700021,
        "Client assertion application identifier doesn't match 'client_id' parameter.",
      );
    }
    const audiences = [
      this.tokenEndpoint(tenant),
      this.tokenEndpoint(this.settings.tenantId),
      this.tokenEndpoint(this.settings.tenantDomain),
    ];
    if (typeof claims.aud !== 'string' || !audiences.includes(claims.aud)) {
      return aadError(401, 'invalid_client', 700023, 'Client assertion audience claim does not match Realm issuer.');
    }
    return undefined;
  }

  private issue(principal: Principal, clientId: string, withIdToken: boolean): ApiResponse {
    const s = this.settings;
    const now = Math.floor(Date.now() / 1000);
    const exp = now + s.tokenTtlSeconds;
    const common = {
      aud: s.orgUrl,
      iss: `https://sts.windows.net/${s.tenantId}/`,
      iat: now,
      nbf: now,
      exp,
      oid: principal.objectId,
      sub: principal.objectId,
      tid: s.tenantId,
    };
    const claims =
      principal.kind === 'app'
        ? { ...common, appid: clientId, idtyp: 'app', ver: '1.0' }
        : {
            ...common,
            appid: clientId,
            upn: s.username,
            unique_name: s.username,
            scp: 'user_impersonation',
            ver: '1.0',
          };
    const accessToken = signJwt({ kid: 'sandbox' }, { ...claims, uti: randomUUID() }, s.signingKeyPem);
    this.issued.set(accessToken, { exp, principal });
    const body: Record<string, unknown> = {
      token_type: 'Bearer',
      scope: `${s.orgUrl}/.default`,
      expires_in: s.tokenTtlSeconds,
      ext_expires_in: s.tokenTtlSeconds,
      access_token: accessToken,
    };
    if (withIdToken) {
      body.scope = `${s.orgUrl}/user_impersonation ${s.orgUrl}/.default`;
      body.id_token = signJwt(
        { kid: 'sandbox' },
        {
          aud: clientId,
          iss: `${s.orgUrl}/${s.tenantId}/v2.0`,
          iat: now,
          nbf: now,
          exp,
          name: 'Sandbox Admin',
          oid: s.userObjectId,
          preferred_username: s.username,
          sub: s.userObjectId,
          tid: s.tenantId,
          ver: '2.0',
        },
        s.signingKeyPem,
      );
      body.client_info = Buffer.from(JSON.stringify({ uid: s.userObjectId, utid: s.tenantId })).toString('base64url');
    }
    return jsonResponse(200, body, { 'Cache-Control': 'no-store, no-cache' });
  }

  /** The principal of a Web API request's bearer token, or undefined (→ 401). */
  authenticate(request: ApiRequest): Principal | undefined {
    const m = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    if (!m?.[1]) return undefined;
    const issued = this.issued.get(m[1]);
    if (!issued || issued.exp <= Math.floor(Date.now() / 1000)) return undefined;
    return issued.principal;
  }

  /** `WWW-Authenticate` value for 401s, pointing clients at this sandbox's authority. */
  challenge(): string {
    return `Bearer authorization_uri=${this.settings.orgUrl}/${this.settings.tenantId}/oauth2/authorize, resource_id=${this.settings.orgUrl}/`;
  }

  /** Makes every token issued so far expire now (admin.expireTokens). */
  expireAll(): void {
    for (const token of this.issued.values()) token.exp = 0;
  }
}
