/**
 * writeBatch over `$batch`: one top-level part per record, `Prefer: odata.continue-on-error`, outcomes in input
 * order. Upserts ask for `return=representation` with only the id selected, because that is the one documented
 * way Dataverse says whether it created (201) or updated (200) the row.
 */
import { LiaisonError } from '../../core/errors.js';
import type { WriteItem, WriteOutcome, WriteRequest } from '../driver.js';
import type { ObjectMetadata } from '../metadata.js';
import {
  buildBatch,
  entityIdFromHeader,
  MAX_BATCH_REQUESTS,
  parseBatchResponse,
  partError,
  type BatchPart,
  type BatchPartResponse,
} from './dynamics-batch.js';
import type { DataverseClient } from './dynamics-client.js';
import { httpFailure } from './dynamics-errors.js';
import { header } from './dynamics-http.js';
import { alternateKeyPath, encodeQuery, recordPath, resolveField } from './dynamics-odata.js';
import { toDataverseBody, type BindResolver } from './dynamics-values.js';

function partFor(
  client: DataverseClient,
  meta: ObjectMetadata,
  request: WriteRequest,
  item: WriteItem,
  binds: BindResolver,
): BatchPart {
  const collection = meta.collectionName ?? meta.name;
  const requireId = (): string => {
    if (!item.id) throw new LiaisonError('invalid_input', `${request.operation} of ${item.ref} needs the record id`);
    return item.id;
  };
  switch (request.operation) {
    case 'insert':
      return { method: 'POST', url: client.url(collection), body: toDataverseBody(meta, item.values, binds) };
    case 'update':
      // If-Match: * turns PATCH into a pure update: a missing row is a 404, not a silent create.
      return {
        method: 'PATCH',
        url: client.url(recordPath(meta, requireId())),
        headers: { 'If-Match': '*' },
        body: toDataverseBody(meta, item.values, binds),
      };
    case 'delete':
      return { method: 'DELETE', url: client.url(recordPath(meta, requireId())) };
    case 'upsert': {
      if (!request.externalIdField)
        throw new LiaisonError('invalid_input', 'upsert needs the alternate key field (externalIdField)');
      const key = resolveField(meta, request.externalIdField);
      const keyValue = Object.entries(item.values).find(([name]) => name.toLowerCase() === key.name)?.[1];
      const address =
        key.name === meta.idField
          ? recordPath(meta, String(keyValue ?? ''))
          : alternateKeyPath(meta, key.name, keyValue);
      // Key values in the URL are copied into a new row; sending them in the body too is refused by Dataverse.
      const body = toDataverseBody(meta, item.values, binds, [key.name]);
      return {
        method: 'PATCH',
        url: client.url(`${address}?${encodeQuery([['$select', meta.idField]])}`),
        headers: { Prefer: 'return=representation' },
        body,
      };
    }
  }
}

function outcomeOf(
  meta: ObjectMetadata,
  request: WriteRequest,
  item: WriteItem,
  part: BatchPartResponse,
): WriteOutcome {
  if (part.status < 200 || part.status >= 300) return { ref: item.ref, ok: false, ...partError(part) };
  let id = entityIdFromHeader(part.headers['odata-entityid']);
  if (!id && part.body) {
    try {
      const row = JSON.parse(part.body) as Record<string, unknown>;
      if (typeof row[meta.idField] === 'string') id = String(row[meta.idField]).toLowerCase();
    } catch {
      // An empty or non-JSON success body: the id comes from the request instead.
    }
  }
  id ??= item.id?.toLowerCase();
  if (!id)
    return {
      ref: item.ref,
      ok: false,
      code: 'NO_ID',
      message: `Dataverse accepted ${item.ref} but returned no record id`,
    };
  const created = request.operation === 'insert' || (request.operation === 'upsert' && part.status === 201);
  return { ref: item.ref, ok: true, id, created };
}

/** Sends one batch (≤ 1000 items) and returns one outcome per item, in input order. */
export async function writeBatch(
  client: DataverseClient,
  meta: ObjectMetadata,
  request: WriteRequest,
  items: WriteItem[],
  binds: BindResolver,
): Promise<WriteOutcome[]> {
  if (items.length > MAX_BATCH_REQUESTS) {
    throw new LiaisonError(
      'invalid_input',
      `writeBatch takes at most ${MAX_BATCH_REQUESTS} items, got ${items.length}`,
    );
  }
  const outcomes: (WriteOutcome | undefined)[] = new Array(items.length);
  const parts: BatchPart[] = [];
  const partItems: number[] = [];
  items.forEach((item, i) => {
    try {
      parts.push(partFor(client, meta, request, item, binds));
      partItems.push(i);
    } catch (error) {
      // A value that cannot be sent (bad GUID, unknown lookup target) rejects that record only.
      if (!(error instanceof LiaisonError) || error.code === 'field_not_found') throw error;
      outcomes[i] = { ref: item.ref, ok: false, code: error.code, message: error.message };
    }
  });
  if (parts.length) {
    const batch = buildBatch(parts);
    // Update and upsert by key are idempotent; an insert or delete resent after a lost answer would not be.
    const idempotent = request.operation === 'update' || request.operation === 'upsert';
    const response = await client.send({
      method: 'POST',
      path: '$batch',
      headers: { 'Content-Type': batch.contentType, Prefer: 'odata.continue-on-error' },
      body: batch.body,
      idempotent,
      what: `writing ${meta.name}`,
      signal: request.signal,
    });
    const contentType = header(response, 'content-type');
    if (!contentType?.toLowerCase().startsWith('multipart/'))
      throw httpFailure(response.status, response.body, `writing ${meta.name}`);
    const answers = parseBatchResponse(response.body, contentType);
    if (answers.length !== parts.length) {
      throw new LiaisonError(
        'crm_error',
        `Dataverse answered ${answers.length} of ${parts.length} batch operations for ${meta.name}; outcomes unknown`,
        {
          details: { status: response.status },
        },
      );
    }
    answers.forEach((answer, n) => {
      const i = partItems[n]!;
      outcomes[i] = outcomeOf(meta, request, items[i]!, answer);
    });
  }
  return outcomes.map((o, i) => o ?? { ref: items[i]!.ref, ok: false, code: 'internal', message: 'no outcome' });
}
