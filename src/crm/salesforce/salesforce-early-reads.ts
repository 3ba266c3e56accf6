import type { QueryRequest } from '../driver.js';
import type { FieldMetadata, ObjectMetadata } from '../metadata.js';
import type { ApiCall, SalesforceSession } from './salesforce-auth.js';
import type { HttpAnswer } from './salesforce-http.js';

/**
 * A read's first requests sent before the object's describe comes back, so that the describe's round trip
 * overlaps the data's first round instead of preceding it (one round trip fewer per import: 100 ms and more across
 * the internet, where a describe alone often takes longer).
 *
 * The reader needs the describe to compile its SOQL (canonical names, the cursor field's type) and to map values.
 * For a plain read (listed fields, no filter, order or ids) whose names come from an earlier describe (the wizard's
 * schema: `namesDescribed`), the SOQL can be guessed from the request alone: the names as given, `Id` and
 * `SystemModstamp`. The guessed requests go out at once; when the reader, compiled from
 * the real describe, makes a request that is byte for byte one of them (same path, same query options), it takes
 * that answer instead of asking again. A wrong guess is never used: its answers are dropped (and its requests
 * aborted) when the read ends, at the cost of the calls made.
 */
export class EarlyAnswers {
  private readonly waiting = new Map<string, { answer: Promise<HttpAnswer>; stop: AbortController }>();

  constructor(private readonly session: SalesforceSession) {}

  /** Sends `call` now; its answer waits for a `take` of the same request. */
  ask(call: ApiCall): void {
    const key = keyOf(call);
    if (this.waiting.has(key)) return;
    const stop = new AbortController();
    const signal = call.signal ? AbortSignal.any([call.signal, stop.signal]) : stop.signal;
    const answer = this.session.call({ ...call, signal });
    answer.catch(() => undefined); // taken or not, its failure must not go unhandled here
    this.waiting.set(key, { answer, stop });
  }

  /** The answer to `call` when it was asked early (once); the taker's signal then governs the request. */
  take(call: ApiCall): Promise<HttpAnswer> | undefined {
    const key = keyOf(call);
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

/** Requests are the same when their method, path (the SOQL is in it) and query options are. */
function keyOf(call: ApiCall): string {
  const options = call.headers?.['Sforce-Query-Options'] ?? '';
  return `${call.method} ${call.path} ${options}`;
}

/** An API name: the only text a guess puts into SOQL (no describe has vouched for it yet). */
const API_NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

/**
 * The describe a plain read's SOQL can be compiled from before the real one arrives, or undefined when the request
 * needs real metadata to compile (a filter's literals follow field types; relationship paths need the parents).
 */
export function guessedDescribe(request: QueryRequest): ObjectMetadata | undefined {
  const plain =
    request.namesDescribed === true &&
    !request.filter &&
    !request.ids &&
    !request.orderBy?.length &&
    request.limit === undefined &&
    (request.modifiedSince?.field ?? MODSTAMP) === MODSTAMP &&
    API_NAME.test(request.object) &&
    request.fields.every((name) => API_NAME.test(name));
  if (!plain) return undefined;
  const field = (name: string, type: FieldMetadata['type'], nillable: boolean): FieldMetadata => ({
    name,
    label: name,
    type,
    crmType: type,
    nillable,
    createable: false,
    updateable: false,
  });
  const fields = [field('Id', 'id', false), field(MODSTAMP, 'datetime', false)];
  for (const name of request.fields) {
    if (!fields.some((f) => f.name.toLowerCase() === name.toLowerCase())) fields.push(field(name, 'string', true));
  }
  return {
    name: request.object,
    label: request.object,
    custom: false,
    queryable: true,
    createable: false,
    updateable: false,
    deletable: false,
    idField: 'Id',
    modstampField: MODSTAMP,
    fields,
  };
}

const MODSTAMP = 'SystemModstamp';
