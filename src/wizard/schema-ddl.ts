import { sql, type Kysely, type RawBuilder } from 'kysely';
import { LiaisonError } from '../core/errors.js';
import type { LiaisonDatabase, StoreDialect } from '../store/store-types.js';
import { addIdColumn } from '../store/migrations/migration-helpers.js';
import type { SchemaChange, SchemaPlan } from './schema-drift.js';
import { ID_COLUMN } from './schema-mapping.js';
import { assertIdentifier } from './schema-naming.js';
import type { LocalColumn } from './schema-types.js';

/**
 * Turns a schema plan into DDL. Names pass `assertIdentifier` and go through Kysely's identifier quoting; types come
 * only from the closed list below (numbers checked), so nothing from the CRM reaches SQL text unchecked.
 */

const SQL_TYPE =
  /^(varchar\(\d{1,8}\)|numeric\(\d{1,4},\d{1,4}\)|numeric|text|boolean|integer|bigint|double precision|date|time|timestamp with time zone)$/;
/** Multi-target lookups store the target object's API name beside the id. */
export const TARGET_SQL_TYPE = 'varchar(255)';

export function columnType(sqlType: string): RawBuilder<unknown> {
  if (!SQL_TYPE.test(sqlType)) throw new LiaisonError('internal', `refusing unexpected column type "${sqlType}"`);
  return sql.raw(sqlType);
}

type Db = Kysely<LiaisonDatabase>;

export async function createTable(
  db: Db,
  dialect: StoreDialect,
  table: string,
  columns: LocalColumn[],
  crmIdColumn: string,
): Promise<void> {
  assertIdentifier(table, 'table name');
  let builder = addIdColumn(db.schema.createTable(table), dialect, ID_COLUMN);
  for (const column of columns) {
    const name = assertIdentifier(column.column, 'column name');
    builder = builder.addColumn(name, columnType(column.sqlType), (col) =>
      name === crmIdColumn ? col.notNull().unique() : col,
    );
    if (column.targetColumn)
      builder = builder.addColumn(assertIdentifier(column.targetColumn, 'column name'), columnType(TARGET_SQL_TYPE));
  }
  await builder.execute();
}

async function addColumn(db: Db, table: string, column: LocalColumn): Promise<void> {
  await db.schema
    .alterTable(table)
    .addColumn(assertIdentifier(column.column, 'column name'), columnType(column.sqlType))
    .execute();
  if (column.targetColumn) await addTargetColumn(db, table, column.targetColumn);
}

async function addTargetColumn(db: Db, table: string, target: string): Promise<void> {
  await db.schema
    .alterTable(table)
    .addColumn(assertIdentifier(target, 'column name'), columnType(TARGET_SQL_TYPE))
    .execute();
}

/**
 * PostgreSQL enforces declared lengths and precisions, so a widening is an ALTER. SQLite does not enforce them
 * (type affinity) and cannot alter a column type, so there the registry records the new type and the stored values
 * need no change.
 */
async function widenColumn(db: Db, dialect: StoreDialect, table: string, column: LocalColumn): Promise<void> {
  if (dialect !== 'postgres') return;
  const name = assertIdentifier(column.column, 'column name');
  await sql`alter table ${sql.id(table)} alter column ${sql.id(name)} type ${columnType(column.sqlType)} using ${sql.id(name)}::${columnType(column.sqlType)}`.execute(
    db,
  );
}

export async function applyChanges(db: Db, dialect: StoreDialect, plan: SchemaPlan): Promise<void> {
  const { schema } = plan;
  for (const change of plan.changes)
    await applyChange(db, dialect, schema.table, schema.crmIdColumn, schema.columns, change);
}

async function applyChange(
  db: Db,
  dialect: StoreDialect,
  table: string,
  crmIdColumn: string,
  columns: LocalColumn[],
  change: SchemaChange,
): Promise<void> {
  switch (change.kind) {
    case 'create-table':
      return createTable(db, dialect, table, columns, crmIdColumn);
    case 'add-column':
      return addColumn(db, table, change.column);
    case 'widen-column':
    case 'update-column':
    case 'restore-column':
      if (change.column.sqlType !== change.from.sqlType) await widenColumn(db, dialect, table, change.column);
      if (change.column.targetColumn && !change.from.targetColumn)
        await addTargetColumn(db, table, change.column.targetColumn);
      return;
    case 'orphan-column':
      return;
    case 'refuse':
      throw new LiaisonError('schema_conflict', change.reason);
  }
}

/** Drops columns whose CRM field is gone (after the user asked for it). */
export async function dropColumns(db: Db, table: string, columns: LocalColumn[]): Promise<void> {
  for (const column of columns) {
    await db.schema
      .alterTable(assertIdentifier(table, 'table name'))
      .dropColumn(assertIdentifier(column.column, 'column name'))
      .execute();
    if (column.targetColumn)
      await db.schema.alterTable(table).dropColumn(assertIdentifier(column.targetColumn, 'column name')).execute();
  }
}
