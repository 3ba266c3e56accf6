import type Database from 'better-sqlite3';
import { makeId, normaliseId } from './salesforce-ids.js';
import { toColumnValue, toWireSecond, toWireValue, type SqlValue } from './record-values.js';
import { SfApiError, type SfField, type SfObject } from './schema-types.js';

/**
 * Records live in SQLite, one table per object with one column per stored field (names as in Salesforce,
 * quoted), plus `_rid` (the integer row id query cursors point at) and `_deletedAt` (the recycle bin). Every write
 * goes through here so audit fields, IsDeleted and validation behave the same for REST, collections, bulk and admin.
 */
export interface WriteOptions {
  /** Timestamp of the write (admin: back-dated changes); defaults to the clock. */
  at?: Date;
  /** Admin writes may set read-only fields such as CreatedDate. */
  admin?: boolean;
}

export const q = (name: string): string => `"${name.replace(/"/g, '""')}"`;

export class RecordStore {
  private readonly statements = new Map<string, Database.Statement>();
  private readonly counters = new Map<string, number>();

  constructor(
    readonly db: Database.Database,
    readonly catalog: Map<string, SfObject>,
    readonly clock: () => Date,
    readonly userId: string,
  ) {
    db.function('sf_fold', { deterministic: true }, (value: unknown) =>
      typeof value === 'string' ? value.toLowerCase() : typeof value === 'number' ? value : null,
    );
    for (const object of catalog.values()) this.createTable(object);
  }

  /** Runs a bulk load with secondary indexes dropped and rebuilt afterwards (sorting once beats per-row upkeep). */
  withoutIndexes<T>(load: () => T): T {
    for (const object of this.catalog.values()) {
      for (const name of this.indexNames(object)) this.db.exec(`DROP INDEX IF EXISTS ${q(name)}`);
    }
    try {
      return load();
    } finally {
      for (const object of this.catalog.values()) this.createTable(object);
    }
  }

  /** Indexes a lookup column on first use by a child subquery (kept off the seed path, where it would cost time). */
  ensureIndex(object: SfObject, field: SfField): void {
    this.db.exec(
      `CREATE INDEX IF NOT EXISTS ${q(`${object.name}_${field.name}`)} ON ${q(object.name)} (${q(field.name)})`,
    );
  }

  private indexNames(object: SfObject): string[] {
    return [
      `${object.name}_Modstamp_Id`,
      ...object.fields.filter((f) => f.externalId || f.unique).map((f) => `${object.name}_${f.name}`),
    ];
  }

  /** The object named `name` (case-insensitive) or the documented INVALID_TYPE / NOT_FOUND error. */
  object(name: string, status = 404): SfObject {
    const object = this.catalog.get(name.toLowerCase());
    if (!object) {
      throw status === 400
        ? new SfApiError(400, 'INVALID_TYPE', `sObject type '${name}' is not supported.`)
        : new SfApiError(404, 'NOT_FOUND', `The requested resource does not exist`);
    }
    return object;
  }

  createTable(object: SfObject): void {
    const columns = object.fields.filter((f) => f.stored).map((f) => `${q(f.name)} ${columnType(f)}`);
    const t = q(object.name);
    this.db.exec(
      `CREATE TABLE IF NOT EXISTS ${t} ("_rid" INTEGER PRIMARY KEY, "_deletedAt" TEXT, ${columns.join(', ')})`,
    );
    this.db.exec(`CREATE UNIQUE INDEX IF NOT EXISTS ${q(`${object.name}_Id`)} ON ${t} ("Id")`);
    // (SystemModstamp, Id) is the order of incremental and keyset-paged reads: with it, `ORDER BY SystemModstamp, Id
    // LIMIT n` walks the index and stops after n rows instead of sorting the whole table (as Salesforce, which
    // indexes SystemModstamp, answers it). It replaces the single-column index data directories made before.
    this.db.exec(`DROP INDEX IF EXISTS ${q(`${object.name}_Modstamp`)}`);
    this.db.exec(`CREATE INDEX IF NOT EXISTS ${q(`${object.name}_Modstamp_Id`)} ON ${t} ("SystemModstamp", "Id")`);
    for (const f of object.fields) {
      if (f.externalId || f.unique)
        this.db.exec(
          `CREATE INDEX IF NOT EXISTS ${q(`${object.name}_${f.name}`)} ON ${t} (${q(f.name)} COLLATE NOCASE)`,
        );
    }
    const max = this.db.prepare(`SELECT max("_rid") AS n FROM ${t}`).get() as { n: number | null };
    this.counters.set(object.name, max.n ?? 0);
  }

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  clearStatements(): void {
    this.statements.clear();
  }

  /** Reserves the next row number and id of `object` (ids are derived from the row number, so reproducible). */
  nextId(object: SfObject): { rid: number; id: string } {
    const rid = (this.counters.get(object.name) ?? 0) + 1;
    this.counters.set(object.name, rid);
    return { rid, id: makeId(object.keyPrefix, rid) };
  }

  /** Validates `body` against the object's fields; returns the column values to write. */
  private columns(
    object: SfObject,
    body: Record<string, unknown>,
    mode: 'create' | 'update',
    options: WriteOptions,
  ): Map<string, SqlValue> {
    const out = new Map<string, SqlValue>();
    const notWritable: string[] = [];
    for (const [key, value] of Object.entries(body)) {
      if (key === 'attributes') continue;
      const field = object.byName.get(key.toLowerCase());
      if (!field)
        throw new SfApiError(400, 'INVALID_FIELD', `No such column '${key}' on sobject of type ${object.name}`, [key]);
      if (field.name === 'Id') {
        if (mode === 'create')
          throw new SfApiError(400, 'INVALID_FIELD', 'The Id field should not be specified in the sobject data.', [
            'Id',
          ]);
        continue;
      }
      const writable = mode === 'create' ? field.createable : field.updateable;
      if (!writable && !(options.admin && field.stored)) {
        notWritable.push(field.name);
        continue;
      }
      out.set(field.name, toColumnValue(object, field, value));
    }
    if (notWritable.length > 0) {
      throw new SfApiError(
        400,
        'INVALID_FIELD_FOR_INSERT_UPDATE',
        `Unable to ${mode} fields: ${notWritable.join(', ')}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.`,
        notWritable,
      );
    }
    return out;
  }

  private checkRequired(object: SfObject, values: Map<string, SqlValue>, existing?: Record<string, unknown>): void {
    const missing = object.fields.filter((f) => {
      if (f.nillable || f.system || !f.stored || f.type === 'boolean' || (f.defaultedOnCreate && !existing))
        return false;
      const value = values.has(f.name) ? values.get(f.name) : existing?.[f.name];
      return value === null || value === undefined;
    });
    if (missing.length > 0) {
      const names = missing.map((f) => f.name);
      throw new SfApiError(400, 'REQUIRED_FIELD_MISSING', `Required fields are missing: [${names.join(', ')}]`, names);
    }
  }

  private checkReferencesAndUnique(object: SfObject, values: Map<string, SqlValue>, selfId: string | undefined): void {
    for (const [name, value] of values) {
      if (value === null) continue;
      const field = object.byName.get(name.toLowerCase());
      if (!field) continue;
      if (field.type === 'reference') {
        const target = this.catalog.get((field.referenceTo[0] ?? '').toLowerCase());
        if (!target || !String(value).startsWith(target.keyPrefix)) {
          throw new SfApiError(400, 'MALFORMED_ID', `${field.label}: id value of incorrect type: ${String(value)}`, [
            field.name,
          ]);
        }
        const row = this.statement(`SELECT "IsDeleted" AS d FROM ${q(target.name)} WHERE "Id" = ?`).get(value) as
          { d: number } | undefined;
        if (!row || row.d === 1) {
          throw new SfApiError(400, 'INVALID_CROSS_REFERENCE_KEY', `invalid cross reference id`, [field.name]);
        }
      } else if (field.unique || field.externalId) {
        if (!field.unique) continue;
        const dup = this.statement(
          `SELECT "Id" AS id FROM ${q(object.name)} WHERE ${q(field.name)} = ? COLLATE NOCASE AND "IsDeleted" = 0 AND "Id" IS NOT ? LIMIT 1`,
        ).get(value, selfId ?? null) as { id: string } | undefined;
        if (dup) {
          throw new SfApiError(
            400,
            'DUPLICATE_VALUE',
            `duplicate value found: ${field.name} duplicates value on record with id: ${dup.id}`,
            [field.name],
          );
        }
      }
    }
  }

  private derive(object: SfObject, values: Map<string, SqlValue>, existing?: Record<string, unknown>): void {
    const name = object.byName.get('name');
    if (name?.system && object.byName.has('lastname') && (values.has('FirstName') || values.has('LastName'))) {
      const first = values.has('FirstName') ? values.get('FirstName') : existing?.FirstName;
      const last = values.has('LastName') ? values.get('LastName') : existing?.LastName;
      values.set('Name', [first, last].filter((v) => v !== null && v !== undefined && v !== '').join(' '));
    }
  }

  insert(objectName: string, body: Record<string, unknown>, options: WriteOptions = {}): string {
    const object = this.object(objectName);
    const values = this.columns(object, body, 'create', options);
    for (const f of object.fields) {
      if (f.stored && !values.has(f.name) && f.defaultValue !== null && !f.system) {
        values.set(f.name, typeof f.defaultValue === 'boolean' ? Number(f.defaultValue) : f.defaultValue);
      }
      if (f.type === 'picklist' && !values.has(f.name) && f.defaultedOnCreate) {
        const def = f.picklistValues.find((p) => p.defaultValue);
        if (def) values.set(f.name, def.value);
      }
    }
    this.checkRequired(object, values);
    this.checkReferencesAndUnique(object, values, undefined);
    this.derive(object, values);
    const { rid, id } = this.nextId(object);
    const now = toWireSecond(options.at ?? this.clock());
    const audit: Record<string, SqlValue> = {
      Id: id,
      IsDeleted: 0,
      CreatedDate: now,
      CreatedById: this.userId,
      LastModifiedDate: now,
      LastModifiedById: this.userId,
      SystemModstamp: now,
    };
    if (object.byName.has('ownerid') && !values.has('OwnerId')) audit.OwnerId = this.userId;
    if (object.name === 'Order') audit.OrderNumber = String(rid + 100).padStart(8, '0');
    for (const [k, v] of Object.entries(audit)) if (!(options.admin && values.has(k))) values.set(k, v);
    const names = [...values.keys()];
    this.statement(
      `INSERT INTO ${q(object.name)} ("_rid", ${names.map(q).join(', ')}) VALUES (?, ${names.map(() => '?').join(', ')})`,
    ).run(rid, ...values.values());
    return id;
  }

  /** The stored row of a record (deleted ones included), or undefined. */
  row(object: SfObject, id: string): Record<string, unknown> | undefined {
    return this.statement(`SELECT * FROM ${q(object.name)} WHERE "Id" = ?`).get(id) as
      Record<string, unknown> | undefined;
  }

  /** The live row of `id`, or the documented MALFORMED_ID / NOT_FOUND / ENTITY_IS_DELETED error. */
  liveRow(object: SfObject, rawId: string): Record<string, unknown> {
    const id = normaliseId(rawId);
    if (!id || !id.startsWith(object.keyPrefix)) {
      throw id
        ? new SfApiError(404, 'NOT_FOUND', `Provided external ID field does not exist or is not accessible: ${rawId}`)
        : new SfApiError(400, 'MALFORMED_ID', `${object.name} ID: id value of incorrect type: ${rawId}`, ['Id']);
    }
    const row = this.row(object, id);
    if (!row) throw new SfApiError(404, 'NOT_FOUND', 'The requested resource does not exist');
    if (row.IsDeleted === 1) throw new SfApiError(404, 'ENTITY_IS_DELETED', 'entity is deleted');
    return row;
  }

  update(objectName: string, rawId: string, body: Record<string, unknown>, options: WriteOptions = {}): string {
    const object = this.object(objectName);
    const row = this.liveRow(object, rawId);
    const id = String(row.Id);
    const values = this.columns(object, body, 'update', options);
    this.checkRequired(object, values, row);
    this.checkReferencesAndUnique(object, values, id);
    this.derive(object, values, row);
    const now = toWireSecond(options.at ?? this.clock());
    for (const [k, v] of Object.entries({
      LastModifiedDate: now,
      LastModifiedById: this.userId,
      SystemModstamp: now,
    })) {
      if (!(options.admin && values.has(k))) values.set(k, v);
    }
    const names = [...values.keys()];
    this.statement(`UPDATE ${q(object.name)} SET ${names.map((n) => `${q(n)} = ?`).join(', ')} WHERE "Id" = ?`).run(
      ...values.values(),
      id,
    );
    return id;
  }

  /** Upsert by external id (or Id): 0 matches creates, 1 updates, several is Salesforce's 300 Multiple Choices. */
  upsert(
    objectName: string,
    fieldName: string,
    value: string,
    body: Record<string, unknown>,
    options: WriteOptions = {},
  ): { id: string; created: boolean } {
    const object = this.object(objectName);
    const field = object.byName.get(fieldName.toLowerCase());
    if (!field || !(field.externalId || field.idLookup)) {
      throw new SfApiError(
        404,
        'NOT_FOUND',
        `Provided external ID field does not exist or is not accessible: ${fieldName}`,
      );
    }
    const bodyValue = Object.entries(body).find(([k]) => k.toLowerCase() === field.name.toLowerCase())?.[1];
    if (bodyValue !== undefined && String(bodyValue) !== value) {
      throw new SfApiError(
        400,
        'INVALID_FIELD',
        `The value of the external ID field in the URL ${value} does not match the value in the body ${String(bodyValue)}`,
        [field.name],
      );
    }
    const rest = Object.fromEntries(Object.entries(body).filter(([k]) => k.toLowerCase() !== field.name.toLowerCase()));
    if (field.name === 'Id') return { id: this.update(objectName, value, rest, options), created: false };
    const matches = this.statement(
      `SELECT "Id" AS id FROM ${q(object.name)} WHERE ${q(field.name)} = ? COLLATE NOCASE AND "IsDeleted" = 0 LIMIT 10`,
    ).all(value) as { id: string }[];
    if (matches.length > 1) {
      throw new SfApiError(300, 'MULTIPLE_CHOICES', matches.map((m) => `/sobjects/${object.name}/${m.id}`).join(','));
    }
    const match = matches[0];
    if (match) return { id: this.update(objectName, match.id, rest, options), created: false };
    return { id: this.insert(objectName, { ...rest, [field.name]: value }, options), created: true };
  }

  /** Soft delete into the recycle bin; `hard` (Bulk hardDelete) removes the row for good. */
  delete(objectName: string, rawId: string, options: WriteOptions & { hard?: boolean } = {}): string {
    const object = this.object(objectName);
    const row = this.liveRow(object, rawId);
    if (options.hard) {
      this.statement(`DELETE FROM ${q(object.name)} WHERE "Id" = ?`).run(row.Id);
      return String(row.Id);
    }
    const now = toWireSecond(options.at ?? this.clock());
    this.statement(
      `UPDATE ${q(object.name)} SET "IsDeleted" = 1, "_deletedAt" = ?, "SystemModstamp" = ?, "LastModifiedDate" = ? WHERE "Id" = ?`,
    ).run(now, now, now, row.Id);
    return String(row.Id);
  }

  /** A stored row as the REST API returns it: selected (or all) fields, compound fields assembled. */
  toWire(
    object: SfObject,
    row: Record<string, unknown>,
    apiVersion: string,
    fields?: SfField[],
  ): Record<string, unknown> {
    const out: Record<string, unknown> = {
      attributes: { type: object.name, url: `/services/data/v${apiVersion}/sobjects/${object.name}/${String(row.Id)}` },
    };
    for (const field of fields ?? object.fields) {
      if (field.stored) out[field.name] = toWireValue(field, row[field.name]);
      else out[field.name] = compoundValue(object, field, row);
    }
    return out;
  }
}

export function compoundValue(object: SfObject, field: SfField, row: Record<string, unknown>): unknown {
  const parts = object.fields.filter((f) => f.compoundFieldName === field.name);
  const get = (suffix: string) => row[parts.find((p) => p.name.endsWith(suffix))?.name ?? ''] ?? null;
  if (field.type === 'location') {
    const latitude = get('Latitude__s');
    const longitude = get('Longitude__s');
    return latitude === null && longitude === null ? null : { latitude, longitude };
  }
  const value = {
    city: get('City'),
    country: get('Country'),
    geocodeAccuracy: null,
    latitude: get('Latitude'),
    longitude: get('Longitude'),
    postalCode: get('PostalCode'),
    state: get('State'),
    street: get('Street'),
  };
  return Object.values(value).every((v) => v === null) ? null : value;
}

function columnType(field: SfField): string {
  switch (field.type) {
    case 'boolean':
    case 'int':
      return 'INTEGER';
    case 'double':
    case 'currency':
    case 'percent':
      return 'REAL';
    default:
      return 'TEXT';
  }
}
