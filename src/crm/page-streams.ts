/**
 * Page-stream plumbing shared by the drivers' readers (CRM-neutral): a reader keeps requests in flight ahead of its
 * consumer (a prefetched page, concurrent windows), and those must stop when the consumer stops or a sibling
 * fails, rather than go on retrying against the CRM in the background.
 */

/** An abort signal that follows `parent` and can also be aborted on its own when the reader stops. */
export interface AbortScope {
  readonly signal: AbortSignal;
  /** Aborts whatever was started with `signal`: in-flight requests and retry waits end at once. */
  stop(): void;
}

export function abortScope(parent?: AbortSignal): AbortScope {
  const own = new AbortController();
  return {
    signal: parent ? AbortSignal.any([parent, own.signal]) : own.signal,
    stop: () => own.abort(new Error('the reader stopped')),
  };
}

/**
 * Interleaves several page streams, yielding pages as they arrive. Each source is asked for its next page only
 * after its previous one was handed on, so memory stays bounded by a few pages per source. The caller aborts the
 * sources' requests when this ends early (see AbortScope); their pending pages are then dropped quietly.
 */
export async function* mergeStreams<T>(sources: AsyncIterator<T>[]): AsyncGenerator<T> {
  const pending = new Map<number, Promise<{ index: number; result: IteratorResult<T> }>>();
  const pull = (index: number): void => {
    pending.set(
      index,
      sources[index]!.next().then((result) => ({ index, result })),
    );
  };
  sources.forEach((_, index) => pull(index));
  try {
    while (pending.size) {
      const { index, result } = await Promise.race(pending.values());
      if (result.done) {
        pending.delete(index);
        continue;
      }
      pull(index);
      yield result.value;
    }
  } finally {
    for (const [index, promise] of pending) {
      promise.catch(() => undefined);
      sources[index]!.return?.(undefined)?.catch(() => undefined);
    }
  }
}
