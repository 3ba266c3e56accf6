import type { QueryRequest } from '../driver.js';
import type { ObjectMetadata } from '../metadata.js';
import { API_NAME, EarlyAnswers, sketchedMetadata } from '../early-answers.js';
import type { ApiCall, SalesforceSession } from './salesforce-auth.js';
import type { HttpAnswer } from './salesforce-http.js';

/**
 * Salesforce's early reads (see ../early-answers.ts): for a plain read (listed fields, no filter, order or ids)
 * whose names come from an earlier describe (the wizard's schema: `namesDescribed`), the opening SOQL can be
 * guessed from the request alone: the names as given, `Id` and `SystemModstamp`. The reader, compiled from the
 * real describe, takes an early answer only when its request is byte for byte a guessed one.
 */
export type SalesforceEarlyAnswers = EarlyAnswers<ApiCall, HttpAnswer>;

export function earlyAnswers(session: SalesforceSession): SalesforceEarlyAnswers {
  // Requests are the same when their method, path (the SOQL is in it) and query options are.
  return new EarlyAnswers<ApiCall, HttpAnswer>(
    (call) => session.call(call),
    (call) => `${call.method} ${call.path} ${call.headers?.['Sforce-Query-Options'] ?? ''}`,
  );
}

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
  return sketchedMetadata({
    name: request.object,
    idField: 'Id',
    modstampField: MODSTAMP,
    fields: request.fields.map((name) => ({ name, type: 'string' as const })),
  });
}

const MODSTAMP = 'SystemModstamp';
