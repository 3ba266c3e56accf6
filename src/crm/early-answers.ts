import type { FieldMetadata, FieldType, ObjectMetadata } from './metadata.js';

/**
 * A read's first requests sent before the object's metadata comes back (CRM-neutral plumbing, like page-streams):
 * the metadata's round trip then overlaps the data's first round instead of preceding it, one round trip fewer
 * per read (100 ms and more across the internet).
 *
 * A driver guesses the opening requests from names an earlier describe produced (`QueryRequest.namesDescribed`),
 * asks them here, then compiles its read from the real metadata as always. A request of the reader that is the
 * same as a guessed one (same key: method, path, options) takes that answer instead of being sent; a wrong guess
 * is never used: its requests are aborted and its answers dropped when the read ends, at the cost of the calls.
 */
export class EarlyAnswers<Call extends { signal?: AbortSignal }, Answer> {
  private readonly waiting = new Map<string, { answer: Promise<Answer>; stop: AbortController }>();

  constructor(
    private readonly send: (call: Call) => Promise<Answer>,
    private readonly keyOf: (call: Call) => string,
  ) {}

  /** Sends `call` now; its answer waits for a `take` of the same request. */
  ask(call: Call): void {
    const key = this.keyOf(call);
    if (this.waiting.has(key)) return;
    const stop = new AbortController();
    const signal = call.signal ? AbortSignal.any([call.signal, stop.signal]) : stop.signal;
    const answer = this.send({ ...call, signal });
    answer.catch(() => undefined); // taken or not, its failure must not go unhandled here
    this.waiting.set(key, { answer, stop });
  }

  /** The answer to `call` when it was asked early (once); the taker's signal then governs the request. */
  take(call: Call): Promise<Answer> | undefined {
    // Every later page of the read comes here too: once the early answers are taken, no key is built for it.
    if (this.waiting.size === 0) return undefined;
    const key = this.keyOf(call);
    const early = this.waiting.get(key);
    if (!early) return undefined;
    this.waiting.delete(key);
    const signal = call.signal;
    if (signal) {
      if (signal.aborted) early.stop.abort(signal.reason);
      const follow = (): void => early.stop.abort(signal.reason);
      signal.addEventListener('abort', follow, { once: true });
      const unfollow = (): void => signal.removeEventListener('abort', follow);
      early.answer.then(unfollow, unfollow);
    }
    return early.answer;
  }

  /** Aborts the requests nobody took (a guess that turned out wrong). */
  dispose(): void {
    for (const { stop } of this.waiting.values()) stop.abort(new Error('an early read was not needed'));
    this.waiting.clear();
  }
}

/** An API name: the only text a guess may put into a query (no describe has vouched for it in this read). */
export const API_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * The metadata a guess compiles from: an object with an id, a modstamp and the given fields, nothing writable.
 * Only names and types matter to a query compiler; a guess compiled from it is checked against the real compile.
 */
export function sketchedMetadata(sketch: {
  name: string;
  idField: string;
  modstampField: string;
  collectionName?: string;
  fields: { name: string; type: FieldType }[];
}): ObjectMetadata {
  const fields: FieldMetadata[] = [];
  for (const { name, type } of [
    { name: sketch.idField, type: 'id' as const },
    { name: sketch.modstampField, type: 'datetime' as const },
    ...sketch.fields,
  ]) {
    if (fields.some((f) => f.name.toLowerCase() === name.toLowerCase())) continue;
    fields.push({
      name,
      label: name,
      type,
      crmType: type,
      nillable: type !== 'id' && name !== sketch.modstampField,
      createable: false,
      updateable: false,
    });
  }
  return {
    name: sketch.name,
    label: sketch.name,
    custom: false,
    queryable: true,
    createable: false,
    updateable: false,
    deletable: false,
    idField: sketch.idField,
    modstampField: sketch.modstampField,
    ...(sketch.collectionName ? { collectionName: sketch.collectionName } : {}),
    fields,
  };
}
