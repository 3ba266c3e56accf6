import { LiaisonError } from '../../core/errors.js';
import type { WriteItem, WriteOutcome, WriteRequest } from '../driver.js';
import type { ObjectMetadata } from '../metadata.js';
import type { QueryContext } from './salesforce-query.js';
import { findField } from './salesforce-describe.js';
import { checkId } from './salesforce-soql.js';
import { toWireValue } from './salesforce-values.js';

/**
 * writeBatch through sObject Collections with allOrNone=false, so one bad record does not sink the others. Results
 * come back in request order; items rejected before sending (a missing id) are merged back into their places.
 * Writes are never retried here: a timeout leaves the outcome unknown, so the error goes to the caller.
 */

export const MAX_COLLECTION_SIZE = 200;

interface CollectionResult {
  id?: string | null;
  success: boolean;
  created?: boolean;
  errors?: { statusCode?: string; message?: string; fields?: string[] }[];
}

/** Field names in `values`, spelled as the describe spells them; unknown names are an error before any call. */
export function wireRecord(meta: ObjectMetadata, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(values)) {
    if (value === undefined) continue;
    const field = findField(meta, name);
    if (!field)
      throw new LiaisonError('field_not_found', `${meta.name} has no field "${name}"; check the field mapping`);
    out[field.name] = toWireValue(value);
  }
  return out;
}

export function mapResult(ref: string, result: CollectionResult | undefined, created: boolean): WriteOutcome {
  if (!result) return { ref, ok: false, code: 'NO_RESULT', message: 'Salesforce returned no result for this record' };
  if (result.success && result.id) return { ref, ok: true, id: result.id, created: result.created ?? created };
  const error = result.errors?.[0];
  const fields = error?.fields?.filter((f) => typeof f === 'string') ?? [];
  return {
    ref,
    ok: false,
    code: error?.statusCode ?? 'UNKNOWN_ERROR',
    message:
      (result.errors ?? [])
        .map((e) => e.message ?? '')
        .filter(Boolean)
        .join('; ') || 'rejected without a message',
    ...(fields.length > 0 ? { fields } : {}),
  };
}

export async function writeCollection(
  ctx: QueryContext,
  request: WriteRequest,
  items: WriteItem[],
): Promise<WriteOutcome[]> {
  if (items.length > MAX_COLLECTION_SIZE) {
    throw new LiaisonError(
      'invalid_input',
      `writeBatch takes at most ${MAX_COLLECTION_SIZE} records per call (got ${items.length}); split the batch`,
    );
  }
  if (items.length === 0) return [];
  const meta = await ctx.describe(request.object);
  const base = `/services/data/v${ctx.apiVersion}/composite/sobjects`;
  const signal = request.signal ? { signal: request.signal } : {};
  const outcomes: (WriteOutcome | undefined)[] = new Array(items.length);
  const sent: number[] = [];
  const missingId = (ref: string): WriteOutcome => ({
    ref,
    ok: false,
    code: 'MISSING_ID',
    message: `${request.operation} needs the record id`,
    fields: ['Id'],
  });

  let answer: unknown;
  if (request.operation === 'delete') {
    const ids: string[] = [];
    items.forEach((item, i) => {
      if (!item.id) outcomes[i] = missingId(item.ref);
      else {
        ids.push(checkId(item.id));
        sent.push(i);
      }
    });
    if (ids.length > 0) {
      const query = new URLSearchParams({ ids: ids.join(','), allOrNone: 'false' });
      answer = await ctx.session.json({
        method: 'DELETE',
        path: `${base}?${query.toString()}`,
        headers: { Accept: 'application/json' },
        idempotent: false,
        what: `delete ${meta.name}`,
        ...signal,
      });
    }
  } else {
    const records: Record<string, unknown>[] = [];
    let externalField: string | undefined;
    if (request.operation === 'upsert') {
      const field = request.externalIdField ? findField(meta, request.externalIdField) : undefined;
      if (!field)
        throw new LiaisonError(
          'invalid_input',
          `upsert on ${meta.name} needs externalIdField naming an existing field (got "${request.externalIdField ?? ''}")`,
        );
      if (!field.externalId && field.type !== 'id')
        throw new LiaisonError(
          'invalid_input',
          `${meta.name}.${field.name} is not an external id field; upsert needs one`,
        );
      externalField = field.name;
    }
    items.forEach((item, i) => {
      const values = wireRecord(meta, item.values);
      if (request.operation === 'update') {
        if (!item.id) {
          outcomes[i] = missingId(item.ref);
          return;
        }
        values.Id = checkId(item.id);
      }
      if (request.operation === 'insert') delete values.Id;
      records.push({ attributes: { type: meta.name }, ...values });
      sent.push(i);
    });
    if (records.length > 0) {
      const body = JSON.stringify({ allOrNone: false, records });
      const headers: Record<string, string> = { 'Content-Type': 'application/json', Accept: 'application/json' };
      if (request.operation === 'insert') headers['Sforce-Auto-Assign'] = request.useAssignmentRules ? 'TRUE' : 'FALSE';
      else if (request.useAssignmentRules) headers['Sforce-Auto-Assign'] = 'TRUE';
      const path = request.operation === 'upsert' ? `${base}/${meta.name}/${externalField}` : base;
      const method = request.operation === 'insert' ? 'POST' : 'PATCH';
      answer = await ctx.session.json({
        method,
        path,
        headers,
        body,
        idempotent: false,
        what: `${request.operation} ${meta.name}`,
        ...signal,
      });
    }
  }
  if (sent.length > 0) {
    if (!Array.isArray(answer) || answer.length !== sent.length) {
      throw new LiaisonError(
        'crm_error',
        `${request.operation} ${meta.name}: Salesforce answered ${Array.isArray(answer) ? answer.length : 'no'} results for ${sent.length} records`,
      );
    }
    const created = request.operation === 'insert';
    sent.forEach((index, k) => {
      outcomes[index] = mapResult((items[index] as WriteItem).ref, answer[k] as CollectionResult, created);
    });
  }
  return outcomes.map(
    (o, i) => o ?? { ref: (items[i] as WriteItem).ref, ok: false, code: 'NO_RESULT', message: 'not sent' },
  );
}
