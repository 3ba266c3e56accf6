import { createHmac, createPublicKey, randomBytes } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { errors as joseErrors, jwtVerify } from 'jose';
import { errorReply, jsonReply, type Reply, type RequestContext, type Route } from './http-server.js';

/**
 * The OAuth 2.0 token endpoint (client credentials, JWT bearer, username-password) and bearer-token checks.
 * One connected app and one integration user, as a small org would configure for a server integration.
 */
export interface ConnectedApp {
  clientId: string;
  clientSecret: string;
  username: string;
  password: string;
  securityToken: string;
  /** PEM certificate uploaded to the connected app for the JWT bearer flow. */
  certificate: string;
}

interface IssuedToken {
  expiresAt: number;
}

const oauthError = (error: string, description: string): Reply =>
  jsonReply(400, { error, error_description: description });

export class SfAuth {
  private readonly tokens = new Map<string, IssuedToken>();

  constructor(
    private readonly app: ConnectedApp,
    private readonly baseUrl: () => string,
    readonly orgId: string,
    readonly userId: string,
    private readonly ttlSeconds: number,
    /** The org clock: token lifetimes follow it, so tests can move time instead of waiting. */
    private readonly clock: () => Date = () => new Date(),
  ) {}

  identityUrl(): string {
    return `${this.baseUrl()}/id/${this.orgId}/${this.userId}`;
  }

  expireAll(): void {
    for (const token of this.tokens.values()) token.expiresAt = Number.NEGATIVE_INFINITY;
  }

  authenticate(req: IncomingMessage): Reply | undefined {
    const header = req.headers.authorization ?? '';
    const match = /^(?:Bearer|OAuth)\s+(\S+)$/i.exec(header);
    const token = match ? this.tokens.get(match[1] as string) : undefined;
    if (!token || token.expiresAt <= this.clock().getTime()) {
      return errorReply(401, 'INVALID_SESSION_ID', 'Session expired or invalid');
    }
    return undefined;
  }

  private issue(): Reply {
    const accessToken = `${this.orgId.slice(0, 15)}!${randomBytes(48).toString('base64url')}`;
    if (this.tokens.size >= 10_000) {
      for (const [key, value] of this.tokens) if (value.expiresAt <= this.clock().getTime()) this.tokens.delete(key);
    }
    this.tokens.set(accessToken, { expiresAt: this.clock().getTime() + this.ttlSeconds * 1000 });
    const id = this.identityUrl();
    const issuedAt = String(Date.now());
    const signature = createHmac('sha256', this.app.clientSecret)
      .update(id + issuedAt)
      .digest('base64');
    return jsonReply(200, {
      access_token: accessToken,
      signature,
      scope: 'api',
      instance_url: this.baseUrl(),
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    });
  }

  private checkClient(form: URLSearchParams, req: IncomingMessage): Reply | undefined {
    let clientId = form.get('client_id');
    let clientSecret = form.get('client_secret');
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic && !clientId) {
      const [id, ...secret] = Buffer.from(basic[1] as string, 'base64')
        .toString('utf8')
        .split(':');
      clientId = decodeURIComponent(id ?? '');
      clientSecret = decodeURIComponent(secret.join(':'));
    }
    if (clientId !== this.app.clientId) return oauthError('invalid_client_id', 'client identifier invalid');
    if (clientSecret !== this.app.clientSecret) return oauthError('invalid_client', 'invalid client credentials');
    return undefined;
  }

  private async jwt(assertion: string): Promise<Reply> {
    const parts = assertion.split('.');
    if (parts.length !== 3) return oauthError('invalid_grant', 'invalid assertion');
    let claims: Record<string, unknown>;
    try {
      claims = JSON.parse(Buffer.from(parts[1] as string, 'base64url').toString('utf8')) as Record<string, unknown>;
    } catch {
      return oauthError('invalid_grant', 'invalid assertion');
    }
    if (claims.iss !== this.app.clientId) return oauthError('invalid_client_id', 'client identifier invalid');
    try {
      await jwtVerify(assertion, createPublicKey(this.app.certificate), {
        algorithms: ['RS256'],
        issuer: this.app.clientId,
        subject: this.app.username,
        audience: [this.baseUrl(), 'https://login.salesforce.com', 'https://test.salesforce.com'],
        requiredClaims: ['exp'],
      });
    } catch (error) {
      if (error instanceof joseErrors.JWTExpired) return oauthError('invalid_grant', 'expired authorization code');
      if (error instanceof joseErrors.JWTClaimValidationFailed) {
        if (error.claim === 'sub') return oauthError('invalid_grant', "user hasn't approved this consumer");
        if (error.claim === 'aud') return oauthError('invalid_grant', 'audience is invalid');
      }
      return oauthError('invalid_grant', 'invalid assertion');
    }
    return this.issue();
  }

  async token(ctx: RequestContext): Promise<Reply> {
    const type = ctx.req.headers['content-type'] ?? '';
    if (!type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      return oauthError('unsupported_grant_type', 'grant type not supported');
    }
    const form = new URLSearchParams((await ctx.body()).toString('utf8'));
    switch (form.get('grant_type')) {
      case 'client_credentials':
        return this.checkClient(form, ctx.req) ?? this.issue();
      case 'password': {
        const denied = this.checkClient(form, ctx.req);
        if (denied) return denied;
        const ok =
          form.get('username') === this.app.username &&
          form.get('password') === this.app.password + this.app.securityToken;
        return ok ? this.issue() : oauthError('invalid_grant', 'authentication failure');
      }
      case 'urn:ietf:params:oauth:grant-type:jwt-bearer':
        return this.jwt(form.get('assertion') ?? '');
      default:
        return oauthError('unsupported_grant_type', 'grant type not supported');
    }
  }

  identity(ctx: RequestContext): Reply {
    const [org, user] = ctx.params;
    if (org !== this.orgId || user !== this.userId)
      return errorReply(404, 'NOT_FOUND', 'The requested resource does not exist');
    return jsonReply(200, {
      id: this.identityUrl(),
      user_id: this.userId,
      organization_id: this.orgId,
      username: this.app.username,
      display_name: 'Liaison Integration',
      active: true,
      user_type: 'STANDARD',
      urls: {
        rest: `${this.baseUrl()}/services/data/v{version}/`,
        sobjects: `${this.baseUrl()}/services/data/v{version}/sobjects/`,
      },
    });
  }

  routes(): Route[] {
    return [
      {
        method: 'POST',
        pattern: /^\/services\/oauth2\/token$/,
        kind: 'token',
        auth: false,
        handler: (ctx) => this.token(ctx),
      },
      {
        method: 'GET',
        pattern: /^\/id\/([^/]+)\/([^/]+)$/,
        kind: 'other',
        auth: true,
        handler: (ctx) => this.identity(ctx),
      },
    ];
  }
}
