import type { Kysely } from 'kysely';
import { LiaisonError } from '../core/errors.js';
import type { LiaisonDatabase, Store } from '../store/store-types.js';
import type { LocalSchema, WizardTables } from './schema-types.js';

/**
 * The schema registry: which local tables mirror which CRM objects, and how each column maps to a CRM field.
 * Read straight from the store on every call (no cache), so a wizard run is seen by every later command at once.
 *
 * @example
 * const schema = await getSchema(store, 'crm:sfdcContact');
 * // schema.table === 'crm_sfdc_contact', schema.crmIdColumn === 'crm_id', schema.cursorColumn === 'systemmodstamp'
 */

export type RegistryDb = Kysely<LiaisonDatabase & WizardTables>;

export function registryDb(db: Kysely<LiaisonDatabase>): RegistryDb {
  return db.withTables<WizardTables>();
}

function parse(json: string): LocalSchema {
  return JSON.parse(json) as LocalSchema;
}

/** Every generated schema, by name. */
export async function listSchemas(store: Store | { db: Kysely<LiaisonDatabase> }): Promise<LocalSchema[]> {
  const rows = await registryDb(store.db)
    .selectFrom('liaison_schema')
    .select('definition_json')
    .orderBy('name')
    .execute();
  return rows.map((row) => parse(row.definition_json));
}

/** The schemas generated for one external account. */
export async function listAccountSchemas(db: Kysely<LiaisonDatabase>, account: string): Promise<LocalSchema[]> {
  const rows = await registryDb(db)
    .selectFrom('liaison_schema')
    .select('definition_json')
    .where('account', '=', account)
    .orderBy('name')
    .execute();
  return rows.map((row) => parse(row.definition_json));
}

/** One schema by name; throws `schema_not_found` naming the fix. */
export async function getSchema(store: Store | { db: Kysely<LiaisonDatabase> }, name: string): Promise<LocalSchema> {
  const schema = await findSchema(store.db, name);
  if (!schema)
    throw new LiaisonError(
      'schema_not_found',
      `no schema named "${name}"; see 'liaison schema list' or create one with 'liaison wizard ACCOUNT'`,
    );
  return schema;
}

export async function findSchema(db: Kysely<LiaisonDatabase>, name: string): Promise<LocalSchema | undefined> {
  const row = await registryDb(db)
    .selectFrom('liaison_schema')
    .select('definition_json')
    .where('name', '=', name)
    .executeTakeFirst();
  return row ? parse(row.definition_json) : undefined;
}

/** The schema that mirrors `crmObject` (matched case-insensitively) for `account`, if any. */
export async function findSchemaForObject(
  db: Kysely<LiaisonDatabase>,
  account: string,
  crmObject: string,
): Promise<LocalSchema | undefined> {
  const all = await listAccountSchemas(db, account);
  return all.find((s) => s.crmObject.toLowerCase() === crmObject.toLowerCase());
}

/** Inserts or replaces a schema's registry row (call inside the transaction that changes its table). */
export async function saveSchema(db: Kysely<LiaisonDatabase>, schema: LocalSchema): Promise<void> {
  const reg = registryDb(db);
  const values = {
    account: schema.account,
    crm: schema.crm,
    crm_object: schema.crmObject,
    table_name: schema.table,
    definition_json: JSON.stringify(schema),
    updated_at: schema.updatedAt,
  };
  const existing = await reg
    .selectFrom('liaison_schema')
    .select('name')
    .where('name', '=', schema.name)
    .executeTakeFirst();
  if (existing) await reg.updateTable('liaison_schema').set(values).where('name', '=', schema.name).execute();
  else
    await reg
      .insertInto('liaison_schema')
      .values({ name: schema.name, created_at: schema.createdAt, ...values })
      .execute();
}

/** Registry rows owning a table name, to tell Liaison's generated tables from foreign ones. */
export async function ownedTables(db: Kysely<LiaisonDatabase>): Promise<Map<string, string>> {
  const rows = await registryDb(db).selectFrom('liaison_schema').select(['name', 'table_name']).execute();
  return new Map(rows.map((row) => [row.table_name, row.name]));
}
