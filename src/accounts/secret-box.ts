import { createCipheriv, createDecipheriv, createHmac, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LiaisonError } from '../core/errors.js';

/**
 * Secrets at rest: AES-256-GCM with a random 96-bit IV per value, the account name as associated data (a
 * ciphertext cannot be moved to another account), and a version prefix for future key rotation.
 * Encrypted and plain values are different types so one cannot be stored or printed in place of the other.
 */
declare const encryptedBrand: unique symbol;
export type EncryptedSecret = string & { readonly [encryptedBrand]: true };

export const DEFAULT_KEY_FILE = '.liaison/secret.key';
const VERSION = 'v1';

export interface SecretKey {
  key: Buffer;
  /** Where the key came from, for error messages (never the key itself). */
  source: string;
}

/** The key from LIAISON_SECRET_KEY (32 bytes as hex or base64), else the key file (created 0600 on first use). */
export function loadSecretKey(
  options: { keyFile?: string; env?: NodeJS.ProcessEnv; create?: boolean } = {},
): SecretKey {
  const env = options.env ?? process.env;
  const fromEnv = env.LIAISON_SECRET_KEY;
  if (fromEnv) return { key: parseKey(fromEnv, 'LIAISON_SECRET_KEY'), source: 'LIAISON_SECRET_KEY' };
  const file = path.resolve(options.keyFile ?? env.LIAISON_SECRET_KEY_FILE ?? DEFAULT_KEY_FILE);
  if (!existsSync(file)) {
    if (options.create === false) {
      throw new LiaisonError('secret_key', `no secret key: set LIAISON_SECRET_KEY or restore the key file ${file}`);
    }
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
  }
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LiaisonError(
      'secret_key',
      `cannot read the secret key file ${file} (${(error as NodeJS.ErrnoException).code}); fix its permissions or set LIAISON_SECRET_KEY`,
    );
  }
  return { key: parseKey(text.trim(), `key file ${file}`), source: `key file ${file}` };
}

function parseKey(text: string, source: string): Buffer {
  const trimmed = text.trim();
  const key = /^[0-9a-fA-F]{64}$/.test(trimmed) ? Buffer.from(trimmed, 'hex') : Buffer.from(trimmed, 'base64');
  if (key.length !== 32) {
    throw new LiaisonError(
      'secret_key',
      `${source} must hold a 32-byte key as 64 hex characters or base64 (e.g. \`openssl rand -base64 32\`)`,
    );
  }
  return key;
}

/** A short, non-reversible fingerprint of the key, stored to detect a wrong key before anything is written. */
export function keyCheck(secretKey: SecretKey): string {
  return createHmac('sha256', secretKey.key).update('liaison-secret-key-check').digest('hex').slice(0, 32);
}

export function encryptSecret(secretKey: SecretKey, plaintext: string, context: string): EncryptedSecret {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', secretKey.key, iv);
  cipher.setAAD(Buffer.from(context, 'utf8'));
  const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  const tag = cipher.getAuthTag();
  return `${VERSION}:${iv.toString('base64')}:${tag.toString('base64')}:${body.toString('base64')}` as EncryptedSecret;
}

export function decryptSecret(secretKey: SecretKey, envelope: string, context: string): string {
  const [version, iv, tag, body] = envelope.split(':');
  if (version !== VERSION || !iv || !tag || body === undefined) {
    throw new LiaisonError('secret_key', `the stored secrets of ${context} are not in a format this Liaison reads`);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', secretKey.key, Buffer.from(iv, 'base64'));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64')), decipher.final()]).toString('utf8');
  } catch {
    throw new LiaisonError(
      'secret_key',
      `cannot decrypt the secrets of ${context}: the secret key (${secretKey.source}) is not the one they were encrypted with; restore that key or re-add the account`,
    );
  }
}
