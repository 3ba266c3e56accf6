import { readFileSync } from 'node:fs';
import https from 'node:https';
import tls from 'node:tls';
import { LiaisonError } from '../../core/errors.js';

/**
 * The CA list for CRM connections: Node's bundled roots, plus NODE_EXTRA_CA_CERTS, plus the account's CA file.
 * Passing `ca` to Node replaces its defaults, so the defaults are added back explicitly: a private CA is *added* to
 * the trusted roots. Verification itself is never switched off.
 */
export function caBundle(caFile?: string): string[] | undefined {
  if (!caFile) return undefined; // Node's defaults (which already include NODE_EXTRA_CA_CERTS) apply.
  const bundle = [...tls.rootCertificates];
  const extra = process.env.NODE_EXTRA_CA_CERTS;
  if (extra) {
    try {
      bundle.push(readFileSync(extra, 'utf8'));
    } catch {
      // Node itself only warns about an unreadable NODE_EXTRA_CA_CERTS; do the same by ignoring it here.
    }
  }
  bundle.push(readCaFile(caFile));
  return bundle;
}

export function readCaFile(caFile: string): string {
  let text: string;
  try {
    text = readFileSync(caFile, 'utf8');
  } catch (error) {
    throw new LiaisonError(
      'tls_error',
      `cannot read CA file ${caFile}: ${(error as NodeJS.ErrnoException).code ?? error}; pass a readable PEM file to --ca-file`,
    );
  }
  if (!text.includes('-----BEGIN CERTIFICATE-----')) {
    throw new LiaisonError('tls_error', `CA file ${caFile} holds no PEM certificate; pass a PEM file to --ca-file`);
  }
  return text;
}

/** An https.Agent that verifies certificates against `caBundle(caFile)`, with keep-alive for page streaming. */
export function createHttpsAgent(caFile?: string, options: https.AgentOptions = {}): https.Agent {
  const ca = caBundle(caFile);
  if (!ca) return new https.Agent({ keepAlive: true, maxSockets: 16, ...options });
  // One secure context for all sockets: with a `ca` option Node parses the whole bundle (~140 roots) again for every
  // new connection and joins it into every request's pool key (measured: ~0.5 s CPU per 100,000-record import).
  // Client-certificate options need their own context, so they keep the plain `ca` route.
  const ownContext = options.cert === undefined && options.key === undefined && options.pfx === undefined;
  return new https.Agent({
    keepAlive: true,
    maxSockets: 16,
    ...options,
    ...(ownContext ? { secureContext: sharedSecureContext(caFile!, ca) } : { ca }),
  });
}

// Building a context parses every root (~0.15 s); drivers are created per activity, so contexts are kept per CA
// file content, for the life of the process.
const contexts = new Map<string, tls.SecureContext>();
function sharedSecureContext(caFile: string, ca: string[]): tls.SecureContext {
  const key = `${caFile}\u0000${ca[ca.length - 1]}`;
  let context = contexts.get(key);
  if (!context) {
    context = tls.createSecureContext({ ca });
    contexts.set(key, context);
  }
  return context;
}

/** Throws the documented error unless `url` is a well-formed https URL. */
export function requireHttpsUrl(url: string, what = 'URL'): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new LiaisonError('invalid_input', `${what} "${url}" is not a valid URL; give a full https://host/ URL`);
  }
  if (parsed.protocol !== 'https:') {
    throw new LiaisonError(
      'insecure_url',
      `${what} "${url}" uses ${parsed.protocol.replace(':', '')}: CRM connectors work only over HTTPS; use an https:// URL`,
    );
  }
  return parsed;
}
