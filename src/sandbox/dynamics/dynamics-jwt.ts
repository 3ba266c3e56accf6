import { createPublicKey, createSign, type KeyObject, constants, verify } from 'node:crypto';

/**
 * Minimal JWS compact serialisation with node:crypto. Synchronous and dependency-free: the sandbox signs a token
 * per token request and verifies client assertions, both on the request path, where jose's async API adds nothing.
 */

export type JwtHeader = Record<string, unknown> & { alg?: string; x5t?: string; 'x5t#S256'?: string };
export type JwtClaims = Record<string, unknown>;

export function signJwt(header: JwtHeader, claims: JwtClaims, privateKeyPem: string): string {
  const h = Buffer.from(JSON.stringify({ typ: 'JWT', alg: 'RS256', ...header })).toString('base64url');
  const c = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const signer = createSign('RSA-SHA256');
  signer.update(`${h}.${c}`);
  return `${h}.${c}.${signer.sign(privateKeyPem).toString('base64url')}`;
}

export interface DecodedJwt {
  header: JwtHeader;
  claims: JwtClaims;
  signingInput: string;
  signature: Buffer;
}

/** Splits and decodes a JWT without verifying it; undefined when it is not a well-formed JWS. */
export function decodeJwt(token: string): DecodedJwt | undefined {
  const parts = token.split('.');
  if (parts.length !== 3) return undefined;
  try {
    const header = JSON.parse(Buffer.from(parts[0]!, 'base64url').toString('utf8')) as unknown;
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as unknown;
    if (typeof header !== 'object' || header === null || typeof claims !== 'object' || claims === null)
      return undefined;
    return {
      header: header as JwtHeader,
      claims: claims as JwtClaims,
      signingInput: `${parts[0]}.${parts[1]}`,
      signature: Buffer.from(parts[2]!, 'base64url'),
    };
  } catch {
    return undefined;
  }
}

/** Verifies an RS256 or PS256 signature (msal-node 7 signs with PS256 when given a SHA-256 thumbprint). */
export function verifyJwtSignature(jwt: DecodedJwt, publicKey: KeyObject | string): boolean {
  const key = typeof publicKey === 'string' ? createPublicKey(publicKey) : publicKey;
  const data = Buffer.from(jwt.signingInput);
  if (jwt.header.alg === 'RS256') return verify('RSA-SHA256', data, key, jwt.signature);
  if (jwt.header.alg === 'PS256') {
    return verify(
      'RSA-SHA256',
      data,
      { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST },
      jwt.signature,
    );
  }
  return false;
}
