import type { Kysely } from 'kysely';
import { LiaisonError } from '../core/errors.js';
import type { LiaisonDatabase } from '../store/store-types.js';
import { registryDb } from '../wizard/schema-registry.js';
import type { Enumeration } from './enum-types.js';

/** Local enumerations in the store (tables from migration 002). Read fresh on every call: no cache. */

type Db = Kysely<LiaisonDatabase>;

type EnumRow = {
  name: string;
  multi: number;
  value_type: string;
  source: string;
  controller: string | null;
  created_at: string;
  updated_at: string;
};
type ValueRow = {
  enumeration: string;
  value: string;
  label: string;
  enabled: number;
  source: string;
  valid_for: string | null;
};

function toEnumeration(row: EnumRow, values: ValueRow[]): Enumeration {
  return {
    name: row.name,
    multi: Number(row.multi) === 1,
    valueType: row.value_type === 'code' ? 'code' : 'text',
    source: row.source,
    ...(row.controller ? { controller: row.controller } : {}),
    values: values.map((v) => ({
      value: v.value,
      label: v.label,
      enabled: Number(v.enabled) === 1,
      source: v.source === 'local' ? 'local' : 'crm',
      ...(v.valid_for ? { validFor: JSON.parse(v.valid_for) as string[] } : {}),
    })),
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export async function listEnumerations(db: Db): Promise<Enumeration[]> {
  const reg = registryDb(db);
  const rows = await reg.selectFrom('liaison_enumeration').selectAll().orderBy('name').execute();
  const values = await reg
    .selectFrom('liaison_enumeration_value')
    .selectAll()
    .orderBy('enumeration')
    .orderBy('position')
    .execute();
  return rows.map((row) =>
    toEnumeration(
      row,
      values.filter((v) => v.enumeration === row.name),
    ),
  );
}

export async function findEnumeration(db: Db, name: string): Promise<Enumeration | undefined> {
  const reg = registryDb(db);
  const row = await reg.selectFrom('liaison_enumeration').selectAll().where('name', '=', name).executeTakeFirst();
  if (!row) return undefined;
  const values = await reg
    .selectFrom('liaison_enumeration_value')
    .selectAll()
    .where('enumeration', '=', name)
    .orderBy('position')
    .execute();
  return toEnumeration(row, values);
}

export async function getEnumeration(db: Db, name: string): Promise<Enumeration> {
  const found = await findEnumeration(db, name);
  if (!found)
    throw new LiaisonError(
      'schema_not_found',
      `no enumeration named "${name}"; see 'liaison enums list' or create it with 'liaison enums sync ACCOUNT'`,
    );
  return found;
}

/** Writes an enumeration and all its values (replacing the stored values); call inside a transaction. */
export async function saveEnumeration(db: Db, enumeration: Enumeration): Promise<void> {
  const reg = registryDb(db);
  const row = {
    multi: enumeration.multi ? 1 : 0,
    value_type: enumeration.valueType,
    source: enumeration.source,
    controller: enumeration.controller ?? null,
    updated_at: enumeration.updatedAt,
  };
  const existing = await reg
    .selectFrom('liaison_enumeration')
    .select('name')
    .where('name', '=', enumeration.name)
    .executeTakeFirst();
  if (existing) await reg.updateTable('liaison_enumeration').set(row).where('name', '=', enumeration.name).execute();
  else
    await reg
      .insertInto('liaison_enumeration')
      .values({ name: enumeration.name, created_at: enumeration.createdAt, ...row })
      .execute();
  await reg.deleteFrom('liaison_enumeration_value').where('enumeration', '=', enumeration.name).execute();
  const rows = enumeration.values.map((v, position) => ({
    enumeration: enumeration.name,
    value: v.value,
    label: v.label,
    enabled: v.enabled ? 1 : 0,
    source: v.source,
    valid_for: v.validFor ? JSON.stringify(v.validFor) : null,
    position,
  }));
  // Chunks keep each statement under SQLite's bound-parameter limit, whatever the picklist's size.
  for (let i = 0; i < rows.length; i += 500)
    await reg
      .insertInto('liaison_enumeration_value')
      .values(rows.slice(i, i + 500))
      .execute();
}
