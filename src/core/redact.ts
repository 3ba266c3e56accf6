/**
 * Secrets must never reach logs or output. Redaction works on two levels: known secret keys in objects, and
 * known secret values anywhere in free text (an error message from a library may echo a token back).
 */
const SECRET_KEY_PATTERN =
  /(secret|password|passwd|token|assertion|private_?key|authorization|access_token|refresh_token|client_secret|signature)/i;

export const REDACTED = '[redacted]';

export function isSecretKey(key: string): boolean {
  return SECRET_KEY_PATTERN.test(key);
}

/** A deep copy of `value` with every secret-looking key's value replaced. */
export function redactObject<T>(value: T): T {
  if (Array.isArray(value)) return value.map((item) => redactObject(item)) as T;
  if (value && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value as Record<string, unknown>)) {
      out[key] = isSecretKey(key) && inner !== null && inner !== undefined ? REDACTED : redactObject(inner);
    }
    return out as T;
  }
  return value;
}

/** Replaces each known secret value (4+ chars) occurring in `text`. */
export function redactText(text: string, secrets: Iterable<string | undefined>): string {
  let out = text;
  for (const secret of secrets) {
    if (secret && secret.length >= 4) out = out.split(secret).join(REDACTED);
  }
  // Bearer tokens and OAuth fields that slipped into a message.
  return out
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/!=-]+/g, `$1${REDACTED}`)
    .replace(/((?:access_token|client_secret|password|assertion|refresh_token)=)[^&\s"]+/g, `$1${REDACTED}`);
}
