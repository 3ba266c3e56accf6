import { jsonReply, type RequestContext, type Route } from './http-server.js';
import { apiRoute, type SfContext } from './sandbox-context.js';
import { SfApiError } from './schema-types.js';

/**
 * sObject Collections: create, update, upsert, delete and retrieve up to 200 records per call, with per-record
 * results in request order and allOrNone rollback (a SQLite savepoint around the whole call).
 */
const MAX_RECORDS = 200;

interface ItemResult {
  id?: string | null;
  success: boolean;
  errors: { statusCode: string; message: string; fields: string[] }[];
  created?: boolean;
}

function tooMany(count: number): SfApiError {
  return new SfApiError(
    400,
    'EXCEEDED_ID_LIMIT',
    `record limit reached. cannot submit more than ${MAX_RECORDS} records into this call (got ${count})`,
  );
}

function errorOf(error: unknown): ItemResult['errors'][number] {
  if (error instanceof SfApiError) return { statusCode: error.errorCode, message: error.message, fields: error.fields };
  throw error;
}

async function recordsOf(ctx: RequestContext): Promise<{ allOrNone: boolean; records: Record<string, unknown>[] }> {
  const body = (await ctx.json()) as { allOrNone?: unknown; records?: unknown };
  if (!body || typeof body !== 'object' || !Array.isArray(body.records)) {
    throw new SfApiError(400, 'JSON_PARSER_ERROR', 'The request body must be {"allOrNone": boolean, "records": [...]}');
  }
  if (body.records.length > MAX_RECORDS) throw tooMany(body.records.length);
  const records = body.records.map((r: unknown) => {
    if (!r || typeof r !== 'object' || Array.isArray(r))
      throw new SfApiError(400, 'JSON_PARSER_ERROR', 'Each record must be a JSON object');
    return r as Record<string, unknown>;
  });
  return { allOrNone: body.allOrNone === true, records };
}

function typeOf(record: Record<string, unknown>): string {
  const attributes = record.attributes as { type?: unknown } | undefined;
  if (!attributes || typeof attributes.type !== 'string')
    throw new SfApiError(400, 'INVALID_TYPE', 'Must send a concrete entity type.');
  return attributes.type;
}

function withoutMeta(record: Record<string, unknown>, drop: string[]): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(record).filter(([k]) => k !== 'attributes' && !drop.includes(k.toLowerCase())),
  );
}

/** Runs `op` per item inside one savepoint; with allOrNone, any failure rolls everything back. */
function runAll<T>(
  sf: SfContext,
  items: T[],
  allOrNone: boolean,
  op: (item: T) => { id: string; created?: boolean },
  withCreated: boolean,
): ItemResult[] {
  const results: ItemResult[] = [];
  let failed = false;
  const db = sf.store.db;
  db.exec('SAVEPOINT collection');
  try {
    for (const item of items) {
      try {
        const { id, created } = op(item);
        results.push({ id, success: true, errors: [], ...(withCreated ? { created: created === true } : {}) });
      } catch (error) {
        failed = true;
        results.push({ success: false, errors: [errorOf(error)], ...(withCreated ? { created: false } : {}) });
      }
    }
  } catch (error) {
    db.exec('ROLLBACK TO collection');
    db.exec('RELEASE collection');
    throw error;
  }
  if (allOrNone && failed) {
    db.exec('ROLLBACK TO collection');
    db.exec('RELEASE collection');
    return results.map((r) =>
      r.success
        ? {
            id: null,
            success: false,
            errors: [
              {
                statusCode: 'ALL_OR_NONE_OPERATION_ROLLED_BACK',
                message:
                  'Record rolled back because not all records were valid and the request was using AllOrNone header',
                fields: [],
              },
            ],
            ...(withCreated ? { created: r.created } : {}),
          }
        : r,
    );
  }
  db.exec('RELEASE collection');
  return results;
}

export function collectionRoutes(sf: SfContext): Route[] {
  const { store } = sf;
  /** A write on the request body's records: `op` per record, in one savepoint, answered with per-record results. */
  const writeRecords = async (
    ctx: RequestContext,
    op: (record: Record<string, unknown>) => { id: string; created?: boolean },
    withCreated = false,
  ) => {
    const { allOrNone, records } = await recordsOf(ctx);
    return jsonReply(200, runAll(sf, records, allOrNone, op, withCreated));
  };
  return [
    apiRoute('POST', 'collections', '/composite/sobjects', async (ctx) => {
      return writeRecords(ctx, (r) => {
        if (Object.keys(r).some((k) => k.toLowerCase() === 'id'))
          throw new SfApiError(400, 'INVALID_FIELD', 'Cannot specify Id in an insert call', ['Id']);
        return { id: store.insert(typeOf(r), withoutMeta(r, [])) };
      });
    }),
    apiRoute('PATCH', 'collections', '/composite/sobjects', async (ctx) => {
      return writeRecords(ctx, (r) => {
        const id = Object.entries(r).find(([k]) => k.toLowerCase() === 'id')?.[1];
        if (typeof id !== 'string')
          throw new SfApiError(400, 'MISSING_ARGUMENT', 'Id not specified in an update call', ['Id']);
        return { id: store.update(typeOf(r), id, withoutMeta(r, ['id'])) };
      });
    }),
    apiRoute('PATCH', 'collections', '/composite/sobjects/([^/]+)/([^/]+)', async (ctx) => {
      const [objectName, fieldName] = ctx.params as [string, string];
      const object = store.object(objectName);
      const field = object.byName.get(fieldName.toLowerCase());
      if (!field || !field.externalId)
        throw new SfApiError(
          400,
          'INVALID_FIELD',
          `Field name provided, ${fieldName} is not an External ID or indexed field for ${object.name}`,
        );
      return writeRecords(
        ctx,
        (r) => {
          if (typeOf(r).toLowerCase() !== object.name.toLowerCase())
            throw new SfApiError(400, 'INVALID_TYPE', `Record type ${typeOf(r)} does not match ${object.name}`);
          const value = Object.entries(r).find(([k]) => k.toLowerCase() === field.name.toLowerCase())?.[1];
          if (value === undefined || value === null || value === '')
            throw new SfApiError(400, 'MISSING_ARGUMENT', `${field.name} not specified`, [field.name]);
          return store.upsert(object.name, field.name, String(value), withoutMeta(r, [field.name.toLowerCase()]));
        },
        true,
      );
    }),
    apiRoute('DELETE', 'collections', '/composite/sobjects', (ctx) => {
      const ids = (ctx.url.searchParams.get('ids') ?? '').split(',').filter((s) => s.length > 0);
      if (ids.length > MAX_RECORDS) throw tooMany(ids.length);
      const allOrNone = ctx.url.searchParams.get('allOrNone') === 'true';
      const objectFor = (id: string) => [...store.catalog.values()].find((o) => id.startsWith(o.keyPrefix));
      return jsonReply(
        200,
        runAll(
          sf,
          ids,
          allOrNone,
          (id) => {
            const object = objectFor(id);
            if (!object) throw new SfApiError(400, 'MALFORMED_ID', `malformed id ${id}`, []);
            return { id: store.delete(object.name, id) };
          },
          false,
        ),
      );
    }),
    apiRoute('GET', 'collections', '/composite/sobjects/([^/]+)', (ctx) => {
      const object = store.object(ctx.params[0] as string);
      const ids = (ctx.url.searchParams.get('ids') ?? '').split(',').filter((s) => s.length > 0);
      if (ids.length > 2000) throw tooMany(ids.length);
      const fieldNames = (ctx.url.searchParams.get('fields') ?? 'Id').split(',');
      const fields = fieldNames.map((name) => {
        const f = object.byName.get(name.trim().toLowerCase());
        if (!f) throw new SfApiError(400, 'INVALID_FIELD', `No such column '${name}' on entity '${object.name}'.`);
        return f;
      });
      return jsonReply(
        200,
        ids.map((id) => {
          try {
            return store.toWire(object, store.liveRow(object, id), ctx.version, fields);
          } catch {
            return null;
          }
        }),
      );
    }),
  ];
}
