/**
 * Retry policy shared by drivers: exponential backoff with full jitter, honouring Retry-After. Only operations
 * the caller marks as safe to repeat are retried; a non-idempotent write is never resent blindly.
 */
export interface RetryPolicy {
  retries: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { retries: 4, baseDelayMs: 250, maxDelayMs: 20_000 };

/** Delay before attempt `attempt` (1-based retry count), or the server's Retry-After when it gave one. */
export function backoffDelay(attempt: number, policy: RetryPolicy, retryAfter?: string | null): number {
  const fromHeader = parseRetryAfter(retryAfter);
  if (fromHeader !== undefined) return Math.min(fromHeader, policy.maxDelayMs * 3);
  const cap = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (attempt - 1));
  return Math.round(cap / 2 + Math.random() * (cap / 2));
}

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value?: string | null): number | undefined {
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - Date.now());
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    // The listener goes when the wait ends: a long poll on one signal must not pile listeners up on it.
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Network failures worth retrying for an idempotent call. */
export function isTransientNetworkError(error: unknown): boolean {
  const code =
    (error as { code?: string; cause?: { code?: string } })?.code ??
    (error as { cause?: { code?: string } })?.cause?.code;
  return (
    [
      'ECONNRESET',
      'ECONNREFUSED',
      'EPIPE',
      'ETIMEDOUT',
      'UND_ERR_SOCKET',
      'ECONNABORTED',
      'EAI_AGAIN',
      'UND_ERR_CLOSED',
    ].includes(code ?? '') || (error as Error)?.name === 'TimeoutError'
  );
}
