import {
  type ApiRequest,
  type ApiResponse,
  DataverseError,
  ErrorCodes,
  emptyResponse,
  header,
  jsonResponse,
  odataError,
  parsePrefer,
} from './dynamics-http.js';
import { isoSeconds, randomGuid } from './dynamics-ids.js';
import { AnnotationFilter, projection, renderRecord } from './dynamics-records.js';
import { actingUser, findRow, notFound, parseKey } from './dynamics-router.js';
import type { Principal } from './dynamics-auth.js';
import type { AttributeDef, EntityDef } from './dynamics-schema-types.js';
import type { SeedIdentities } from './dynamics-seed.js';
import type { DynamicsStore, Row, SqlValue } from './dynamics-store.js';
import { fromWire, isLookup } from './dynamics-values.js';
import { resolveBind } from './dynamics-write-binds.js';

/**
 * Create, update, upsert and delete with Dataverse's semantics: `@odata.bind` lookups, ETag preconditions,
 * upsert by primary or alternate key, silently ignored non-writable columns (documented), validation errors in
 * Dataverse's words, and createdon/modifiedon/versionnumber stamped on every write.
 */

export interface WriteOptions {
  userId: string;
  at?: Date;
}

interface WriteContext {
  store: DynamicsStore;
  apiBase: string;
}

/** Validation switches; ApplicationRequired is enforced by default (see README: stricter than Dataverse). */
export interface ValidationSettings {
  enforceApplicationRequired: boolean;
}

const SYSTEM_FILLED = new Set([
  'statecode',
  'statuscode',
  'ownerid',
  'owneridtype',
  'versionnumber',
  'createdon',
  'modifiedon',
]);

function parseBody(request: ApiRequest): Record<string, unknown> {
  if (request.body.trim() === '') throw odataError('The request body is empty; a JSON object is expected.');
  let parsed: unknown;
  try {
    parsed = JSON.parse(request.body);
  } catch {
    throw odataError('Invalid JSON. The request body is not a valid JSON object.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw odataError('Invalid JSON. A JSON object was expected.');
  return parsed as Record<string, unknown>;
}

export class WriteEngine {
  // Dataverse does not enforce ApplicationRequired columns on the Web API (only SystemRequired); tests may opt in.
  readonly validation: ValidationSettings = { enforceApplicationRequired: false };

  constructor(
    private readonly store: DynamicsStore,
    private readonly identities: SeedIdentities,
  ) {}

  /** Turns a wire body into column values; `existing` is the row being updated (undefined on create). */
  private columns(entity: EntityDef, body: Record<string, unknown>, existing: Row | undefined): Row {
    const row: Row = {};
    const mode = existing ? 'update' : 'create';
    for (const [key, value] of Object.entries(body)) {
      if (key.startsWith('@odata.')) continue;
      if (key.endsWith('@odata.bind')) {
        const bound = resolveBind(this.store, entity, key.slice(0, -'@odata.bind'.length), value);
        row[bound.attribute.logicalName] = bound.id;
        if (entity.attributes.some((a) => a.logicalName === `${bound.attribute.logicalName}type`))
          row[`${bound.attribute.logicalName}type`] = bound.target;
        continue;
      }
      if (key.includes('@')) continue; // other instance annotations are ignored, as by Dataverse
      if (/^_\w+_value$/.test(key))
        throw odataError(
          'CRM do not support direct update of Entity Reference properties, Use Navigation properties instead.',
        );
      const a = entity.attributes.find((x) => x.logicalName === key && !x.notOnWire);
      if (!a || isLookup(a))
        throw odataError(
          `Invalid property '${key}' was found in entity 'Microsoft.Dynamics.CRM.${entity.logicalName}'.`,
        );
      // Columns not valid for this operation are silently ignored (documented Dataverse behaviour).
      if (a.computed || (mode === 'create' ? !a.validForCreate : !a.validForUpdate)) continue;
      const converted = fromWire(a, entity, value);
      if (converted === null && mode === 'update' && this.isEnforced(a)) throw this.requiredError(entity, a);
      row[a.logicalName] = converted;
    }
    this.stateStatus(entity, row, existing);
    return row;
  }

  private isEnforced(a: AttributeDef): boolean {
    return (
      a.required === 'SystemRequired' ||
      (a.required === 'ApplicationRequired' && this.validation.enforceApplicationRequired)
    );
  }

  private requiredError(entity: EntityDef, a: AttributeDef): DataverseError {
    return new DataverseError(
      400,
      ErrorCodes.validation,
      `A validation error occurred. A value must be provided for the required attribute '${a.logicalName}' of entity '${entity.logicalName}'.`,
    );
  }

  /** Keeps statecode/statuscode consistent the way Dataverse does (default status for a state). */
  private stateStatus(entity: EntityDef, row: Row, existing: Row | undefined): void {
    const state = entity.attributes.find((a) => a.type === 'State');
    const status = entity.attributes.find((a) => a.type === 'Status');
    if (!state?.optionSet || !status?.optionSet) return;
    if (row.statecode !== undefined && row.statuscode === undefined) {
      row.statuscode = state.optionSet.options.find((o) => o.value === row.statecode)?.defaultStatus ?? null;
    } else if (row.statuscode !== undefined && row.statuscode !== null) {
      const owning = status.optionSet.options.find((o) => o.value === row.statuscode)?.state;
      const targetState = row.statecode ?? existing?.statecode ?? 0;
      if (row.statecode === undefined && owning !== undefined && owning !== targetState) row.statecode = owning;
      else if (owning !== undefined && owning !== targetState) {
        throw new DataverseError(
          400,
          ErrorCodes.invalidOption,
          `${String(row.statuscode)} is not a valid status code for state code ${entity.logicalName}State.${String(targetState)} on ${entity.logicalName}.`,
        );
      }
    }
  }

  private computed(entity: EntityDef, row: Row, existing: Row | undefined): void {
    const has = (n: string) => entity.attributes.some((a) => a.logicalName === n && a.computed);
    const get = (n: string) => (n in row ? row[n] : existing?.[n]) ?? null;
    if (has('fullname') && ('firstname' in row || 'lastname' in row || !existing)) {
      row.fullname = [get('firstname'), get('lastname')].filter((v) => v !== null && v !== '').join(' ') || null;
    }
    if (has('extendedamount') && ('quantity' in row || 'priceperunit' in row || !existing)) {
      const q = Number(get('quantity') ?? 0);
      const p = Number(get('priceperunit') ?? 0);
      row.extendedamount = Math.round(q * p * 100) / 100;
    }
  }

  private uniqueViolation(entity: EntityDef, error: unknown, row: Row): never {
    const message = error instanceof Error ? error.message : '';
    if (!message.includes('UNIQUE constraint failed')) throw error;
    const key = entity.keys.find((k) => k.attributes.every((a) => message.includes(`.${a}`)));
    if (!key) throw new DataverseError(412, ErrorCodes.duplicateRecord, 'Cannot insert duplicate key.');
    const values = key.attributes.map((a) => String(row[a] ?? '')).join(', ');
    throw new DataverseError(
      412,
      ErrorCodes.duplicateKey,
      `A record that has the attribute values ${values} already exists. The entity key ${key.logicalName} requires that this set of attributes contains unique values. Select unique values and try again.`,
    );
  }

  /** Creates a record from a wire body; returns its id. `keyValues` are copied from an upsert URL. */
  create(entity: EntityDef, body: Record<string, unknown>, options: WriteOptions, keyValues: Row = {}): string {
    const row = { ...this.columns(entity, body, undefined), ...keyValues };
    const pk = entity.primaryIdAttribute;
    const id = typeof row[pk] === 'string' ? (row[pk] as string) : randomGuid();
    const at = isoSeconds(options.at ?? new Date());
    const full: Row = {
      ...row,
      [pk]: id,
      createdon: typeof row.overriddencreatedon === 'string' ? `${row.overriddencreatedon.slice(0, 10)}T00:00:00Z` : at,
      modifiedon: at,
      versionnumber: this.store.nextVersion(),
      createdby: options.userId,
      modifiedby: options.userId,
    };
    const names = new Set(entity.attributes.map((a) => a.logicalName));
    if (names.has('ownerid') && full.ownerid === undefined) {
      full.ownerid = options.userId;
      full.owneridtype = 'systemuser';
    }
    if (names.has('statecode') && full.statecode === undefined) full.statecode = 0;
    if (names.has('statuscode') && full.statuscode === undefined) {
      full.statuscode =
        entity.attributes.find((a) => a.type === 'State')?.optionSet?.options.find((o) => o.value === full.statecode)
          ?.defaultStatus ?? 1;
    }
    if (names.has('transactioncurrencyid') && full.transactioncurrencyid === undefined) {
      full.transactioncurrencyid = this.identities.currencyId;
      full.exchangerate = 1;
    }
    for (const a of entity.attributes) {
      if (SYSTEM_FILLED.has(a.logicalName) || a.isPrimaryId || a.computed || !this.isEnforced(a)) continue;
      if (a.type === 'EntityName') continue;
      if (full[a.logicalName] === undefined || full[a.logicalName] === null) throw this.requiredError(entity, a);
    }
    this.computed(entity, full, undefined);
    try {
      this.store.insert(entity, full);
    } catch (error) {
      this.uniqueViolation(entity, error, full);
    }
    return id;
  }

  update(entity: EntityDef, existing: Row, body: Record<string, unknown>, options: WriteOptions): void {
    const row = this.columns(entity, body, existing);
    this.computed(entity, row, existing);
    const full: Row = {
      ...row,
      modifiedon: isoSeconds(options.at ?? new Date()),
      modifiedby: options.userId,
      versionnumber: this.store.nextVersion(),
    };
    try {
      this.store.update(entity, String(existing[entity.primaryIdAttribute]), full);
    } catch (error) {
      this.uniqueViolation(entity, error, { ...existing, ...full });
    }
  }

  remove(entity: EntityDef, id: string, at?: Date): boolean {
    return this.store.remove(entity, id, isoSeconds(at ?? new Date()));
  }

  private entityUrl(ctx: WriteContext, entity: EntityDef, id: string): string {
    return `${ctx.apiBase}${entity.entitySetName}(${id})`;
  }

  private representation(
    ctx: WriteContext,
    entity: EntityDef,
    id: string,
    request: ApiRequest,
    status: number,
  ): ApiResponse {
    const row = this.store.getById(entity, id)!;
    const prefer = parsePrefer(header(request, 'prefer'));
    const p = projection(
      entity,
      request.url.searchParams.get('$select'),
      new AnnotationFilter(prefer.get('odata.include-annotations')),
    );
    return jsonResponse(
      status,
      { '@odata.context': `${ctx.apiBase}$metadata#${p.contextSelect}/$entity`, ...renderRecord(this.store, p, row) },
      { 'Preference-Applied': 'return=representation', 'OData-EntityId': this.entityUrl(ctx, entity, id) },
    );
  }

  private checkEtag(entity: EntityDef, row: Row | undefined, ifMatch: string | undefined, keyText: string): void {
    if (ifMatch === undefined) return;
    if (!row) throw notFound(entity, keyText);
    if (ifMatch !== '*' && ifMatch !== `W/"${String(row.versionnumber)}"`) {
      throw new DataverseError(
        412,
        ErrorCodes.concurrency,
        "The version of the existing record doesn't match the RowVersion property provided.",
      );
    }
  }

  /** Routes a non-GET request on an entity set or record. */
  handle(
    ctx: WriteContext,
    entity: EntityDef,
    keyText: string | undefined,
    rest: string[],
    request: ApiRequest,
    principal: Principal,
  ): ApiResponse {
    const options: WriteOptions = {
      userId: actingUser({ store: this.store, identities: this.identities }, request, principal),
    };
    const wantsRow = parsePrefer(header(request, 'prefer')).get('return') === 'representation';
    if (keyText === undefined) {
      if (request.method === 'POST' && rest.length === 0) {
        const id = this.store.atomic(() => this.create(entity, parseBody(request), options));
        return wantsRow
          ? this.representation(ctx, entity, id, request, 201)
          : emptyResponse(204, { 'OData-EntityId': this.entityUrl(ctx, entity, id) });
      }
      if (request.method === 'POST' && rest.length === 1 && rest[0]!.startsWith('Microsoft.Dynamics.CRM.')) {
        return this.bulk(ctx, entity, rest[0]!.slice('Microsoft.Dynamics.CRM.'.length), parseBody(request), options);
      }
      throw new DataverseError(
        405,
        ErrorCodes.odata,
        `The HTTP method '${request.method}' is not allowed on the entity set '${entity.entitySetName}'.`,
      );
    }
    const key = parseKey(entity, keyText);
    const existing = findRow(ctx, entity, key);
    if (rest.length > 0) return this.property(entity, existing, keyText, rest, request, options);
    if (request.method === 'DELETE') {
      this.checkEtag(entity, existing, header(request, 'if-match'), keyText);
      if (!existing || !this.remove(entity, String(existing[entity.primaryIdAttribute])))
        throw notFound(entity, keyText);
      return emptyResponse(204);
    }
    if (request.method !== 'PATCH')
      throw new DataverseError(
        405,
        ErrorCodes.odata,
        `The HTTP method '${request.method}' is not allowed on a record.`,
      );
    const body = parseBody(request);
    this.checkEtag(entity, existing, header(request, 'if-match'), keyText);
    if (existing) {
      if (header(request, 'if-none-match') === '*')
        throw new DataverseError(412, ErrorCodes.duplicateKey, 'A record with matching key values already exists.');
      this.store.atomic(() => this.update(entity, existing, body, options));
      const id = String(existing[entity.primaryIdAttribute]);
      return wantsRow
        ? this.representation(ctx, entity, id, request, 200)
        : emptyResponse(204, { 'OData-EntityId': this.entityUrl(ctx, entity, id) });
    }
    // Upsert: the key in the URL becomes part of the new row.
    const keyValues: Row = 'id' in key ? { [entity.primaryIdAttribute]: key.id } : key.alternate;
    const id = this.store.atomic(() => this.create(entity, body, options, keyValues));
    return wantsRow
      ? this.representation(ctx, entity, id, request, 201)
      : emptyResponse(204, { 'OData-EntityId': this.entityUrl(ctx, entity, id) });
  }

  /** PUT /set(id)/column {"value":...}, DELETE /set(id)/column, DELETE /set(id)/lookup/$ref. */
  private property(
    entity: EntityDef,
    existing: Row | undefined,
    keyText: string,
    rest: string[],
    request: ApiRequest,
    options: WriteOptions,
  ): ApiResponse {
    if (!existing) throw notFound(entity, keyText);
    const name = rest[0]!;
    let body: Record<string, unknown>;
    if (rest[1] === '$ref' && rest.length === 2 && request.method === 'DELETE') {
      this.store.atomic(() => this.update(entity, existing, { [`${name}@odata.bind`]: null }, options));
      return emptyResponse(204);
    }
    if (rest.length !== 1) throw odataError(`Resource not found for the segment '${rest.join('/')}'.`, 404);
    if (request.method === 'PUT') body = { [name]: parseBody(request).value ?? null };
    else if (request.method === 'DELETE') body = { [name]: null };
    else
      throw new DataverseError(
        405,
        ErrorCodes.odata,
        `The HTTP method '${request.method}' is not allowed on a property.`,
      );
    this.store.atomic(() => this.update(entity, existing, body, options));
    return emptyResponse(204);
  }

  private targets(entity: EntityDef, body: Record<string, unknown>): Array<Record<string, unknown>> {
    const targets = body.Targets;
    if (!Array.isArray(targets) || targets.length === 0)
      throw odataError("The parameter 'Targets' must be a non-empty collection.");
    return targets.map((t: unknown) => {
      if (typeof t !== 'object' || t === null) throw odataError("Each item of 'Targets' must be an entity object.");
      const type = (t as Record<string, unknown>)['@odata.type'];
      if (typeof type !== 'string' || type.replace(/^#/, '') !== `Microsoft.Dynamics.CRM.${entity.logicalName}`) {
        throw odataError(
          `Each item of 'Targets' must carry "@odata.type": "Microsoft.Dynamics.CRM.${entity.logicalName}".`,
        );
      }
      return t as Record<string, unknown>;
    });
  }

  /** CreateMultiple / UpdateMultiple / UpsertMultiple: all or nothing on a standard table. */
  private bulk(
    ctx: WriteContext,
    entity: EntityDef,
    message: string,
    body: Record<string, unknown>,
    options: WriteOptions,
  ): ApiResponse {
    const targets = this.targets(entity, body);
    const pk = entity.primaryIdAttribute;
    if (message === 'CreateMultiple') {
      const ids = this.store.atomic(() => targets.map((t) => this.create(entity, t, options)));
      return jsonResponse(200, {
        '@odata.context': `${ctx.apiBase}$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse`,
        Ids: ids,
      });
    }
    if (message === 'UpdateMultiple') {
      this.store.atomic(() => {
        for (const t of targets) {
          const id = t[pk];
          const row = typeof id === 'string' ? this.store.getById(entity, id) : undefined;
          if (!row) throw notFound(entity, String(id));
          this.update(entity, row, t, options);
        }
      });
      return emptyResponse(204);
    }
    if (message === 'UpsertMultiple') {
      this.store.atomic(() => {
        for (const t of targets) {
          const odataId = t['@odata.id'];
          let keyValues: Row = {};
          if (typeof odataId === 'string') {
            const m = /([A-Za-z_]\w*)\((.*)\)$/.exec(odataId);
            if (!m || m[1] !== entity.entitySetName)
              throw odataError(`The @odata.id '${odataId}' does not name a ${entity.logicalName} record.`);
            const key = parseKey(entity, m[2]!);
            keyValues = 'id' in key ? { [pk]: key.id } : (key.alternate as Record<string, SqlValue>);
          } else if (typeof t[pk] === 'string') keyValues = { [pk]: (t[pk] as string).toLowerCase() };
          const row = Object.keys(keyValues).length
            ? keyValues[pk]
              ? this.store.getById(entity, String(keyValues[pk]))
              : this.store.findByKey(entity, keyValues)
            : undefined;
          if (row) this.update(entity, row, t, options);
          else this.create(entity, t, options, keyValues);
        }
      });
      return emptyResponse(204);
    }
    throw odataError(`Resource not found for the segment 'Microsoft.Dynamics.CRM.${message}'.`, 404);
  }
}
