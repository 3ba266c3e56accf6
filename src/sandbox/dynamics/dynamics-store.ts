import Database from 'better-sqlite3';
import type { AttributeDef, AttributeType, EntityDef } from './dynamics-schema-types.js';

/** What SQLite stores and returns for one column value. */
export type SqlValue = string | number | bigint | null;
export type Row = Record<string, SqlValue>;

const INTEGER_TYPES = new Set<AttributeType>(['Integer', 'BigInt', 'Picklist', 'State', 'Status', 'Boolean']);
const REAL_TYPES = new Set<AttributeType>(['Decimal', 'Double', 'Money']);
const TEXT_NOCASE_TYPES = new Set<AttributeType>(['String', 'Memo', 'EntityName']);

/** SQLite column type; strings compare case-insensitively (NOCASE) as Dataverse's SQL Server collation does. */
export function sqlColumnType(type: AttributeType): string {
  if (INTEGER_TYPES.has(type)) return 'INTEGER';
  if (REAL_TYPES.has(type)) return 'REAL';
  if (TEXT_NOCASE_TYPES.has(type)) return 'TEXT COLLATE NOCASE';
  return 'TEXT';
}

export function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/i.test(name)) throw new Error(`unsafe identifier ${name}`);
  return `"${name}"`;
}

export function tableName(entity: EntityDef): string {
  return quoteIdent(`t_${entity.logicalName}`);
}

/**
 * The sandbox's data: one in-memory SQLite table per Dataverse table ("over a real store"), a deletion log for
 * change tracking, and one org-wide row-version counter (Dataverse's versionnumber is a SQL rowversion, so it
 * is monotonic across tables too). Rows carry a hidden integer `_rid` so default paging is a keyset on it: O(n)
 * over a million rows, unlike OFFSET paging.
 */
export class DynamicsStore {
  readonly db: Database.Database;
  private version: number;
  private readonly byLogical = new Map<string, EntityDef>();
  private readonly bySet = new Map<string, EntityDef>();
  private statements = new Map<string, Database.Statement>();

  constructor(
    readonly schema: EntityDef[],
    startVersion = 1_000_000,
  ) {
    this.db = new Database(':memory:');
    this.db.pragma('journal_mode = OFF');
    this.db.pragma('synchronous = OFF');
    this.db.pragma('temp_store = MEMORY');
    this.db.pragma('cache_size = -262144');
    this.version = startVersion;
    this.db.exec(
      'CREATE TABLE _deleted (entity TEXT NOT NULL, id TEXT NOT NULL, versionnumber INTEGER NOT NULL, deletedon TEXT NOT NULL)',
    );
    this.db.exec('CREATE INDEX _deleted_v ON _deleted (entity, versionnumber)');
    for (const entity of schema) this.createTable(entity);
  }

  private createTable(entity: EntityDef): void {
    this.byLogical.set(entity.logicalName, entity);
    this.bySet.set(entity.entitySetName, entity);
    const cols = entity.attributes.map((a) => `${quoteIdent(a.logicalName)} ${sqlColumnType(a.type)}`);
    this.db.exec(`CREATE TABLE ${tableName(entity)} (_rid INTEGER PRIMARY KEY, ${cols.join(', ')})`);
  }

  /**
   * Creates the indexes (primary key, version, modifiedon, alternate keys). Called once after seeding: building an
   * index over loaded rows is a sort, several times faster than maintaining it row by row (random GUID keys).
   */
  createIndexes(): void {
    for (const entity of this.schema) {
      const t = tableName(entity);
      this.db.exec(
        `CREATE UNIQUE INDEX IF NOT EXISTS ${quoteIdent(`u_${entity.logicalName}_pk`)} ON ${t} (${quoteIdent(entity.primaryIdAttribute)})`,
      );
      this.db.exec(`CREATE INDEX IF NOT EXISTS ${quoteIdent(`i_${entity.logicalName}_v`)} ON ${t} (versionnumber)`);
      this.db.exec(`CREATE INDEX IF NOT EXISTS ${quoteIdent(`i_${entity.logicalName}_m`)} ON ${t} (modifiedon, _rid)`);
      for (const key of entity.keys) {
        const cols = key.attributes.map(quoteIdent).join(', ');
        this.db.exec(
          `CREATE UNIQUE INDEX IF NOT EXISTS ${quoteIdent(`k_${entity.logicalName}_${key.logicalName}`)} ON ${t} (${cols})`,
        );
      }
    }
    this.statements = new Map();
  }

  entity(logicalName: string): EntityDef | undefined {
    return this.byLogical.get(logicalName);
  }

  entityBySet(setName: string): EntityDef | undefined {
    return this.bySet.get(setName);
  }

  /** Prepared statements cached by SQL text (the SQL is built only from schema-checked identifiers). */
  prepare(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  /** Like prepare, but the statement returns rows as arrays (cheaper to build for 5000-row pages). */
  prepareRaw(sql: string): Database.Statement {
    const key = `raw:${sql}`;
    let stmt = this.statements.get(key);
    if (!stmt) {
      stmt = this.db.prepare(sql).raw(true);
      this.statements.set(key, stmt);
    }
    return stmt;
  }

  nextVersion(): number {
    this.version += 1;
    return this.version;
  }

  currentVersion(): number {
    return this.version;
  }

  insert(entity: EntityDef, row: Row): void {
    const names = Object.keys(row);
    const sql = `INSERT INTO ${tableName(entity)} (${names.map(quoteIdent).join(', ')}) VALUES (${names.map(() => '?').join(', ')})`;
    this.prepare(sql).run(...names.map((n) => row[n] ?? null));
  }

  update(entity: EntityDef, id: string, row: Row): void {
    const names = Object.keys(row);
    if (names.length === 0) return;
    const sql = `UPDATE ${tableName(entity)} SET ${names.map((n) => `${quoteIdent(n)} = ?`).join(', ')} WHERE ${quoteIdent(entity.primaryIdAttribute)} = ?`;
    this.prepare(sql).run(...names.map((n) => row[n] ?? null), id);
  }

  remove(entity: EntityDef, id: string, deletedOn: string): boolean {
    const result = this.prepare(
      `DELETE FROM ${tableName(entity)} WHERE ${quoteIdent(entity.primaryIdAttribute)} = ?`,
    ).run(id);
    if (result.changes === 0) return false;
    this.prepare('INSERT INTO _deleted (entity, id, versionnumber, deletedon) VALUES (?, ?, ?, ?)').run(
      entity.logicalName,
      id,
      this.nextVersion(),
      deletedOn,
    );
    return true;
  }

  getById(entity: EntityDef, id: string): Row | undefined {
    return this.prepare(`SELECT * FROM ${tableName(entity)} WHERE ${quoteIdent(entity.primaryIdAttribute)} = ?`).get(
      id.toLowerCase(),
    ) as Row | undefined;
  }

  /** Finds a row by alternate-key values (column → value). */
  findByKey(entity: EntityDef, values: Record<string, SqlValue>): Row | undefined {
    const names = Object.keys(values);
    const where = names.map((n) => `${quoteIdent(n)} = ?`).join(' AND ');
    return this.prepare(`SELECT * FROM ${tableName(entity)} WHERE ${where} LIMIT 1`).get(
      ...names.map((n) => values[n] ?? null),
    ) as Row | undefined;
  }

  count(entity: EntityDef): number {
    const row = this.prepare(`SELECT count(*) AS n FROM ${tableName(entity)}`).get() as { n: number };
    return row.n;
  }

  countDeleted(entity: EntityDef): number {
    const row = this.prepare('SELECT count(*) AS n FROM _deleted WHERE entity = ?').get(entity.logicalName) as {
      n: number;
    };
    return row.n;
  }

  listIds(entity: EntityDef, limit: number): string[] {
    const rows = this.prepare(
      `SELECT ${quoteIdent(entity.primaryIdAttribute)} AS id FROM ${tableName(entity)} ORDER BY _rid LIMIT ?`,
    ).all(limit) as Array<{ id: string }>;
    return rows.map((r) => r.id);
  }

  addColumn(entity: EntityDef, attribute: AttributeDef): void {
    this.db.exec(
      `ALTER TABLE ${tableName(entity)} ADD COLUMN ${quoteIdent(attribute.logicalName)} ${sqlColumnType(attribute.type)}`,
    );
    this.statements = new Map();
  }

  dropColumn(entity: EntityDef, name: string): void {
    this.db.exec(`ALTER TABLE ${tableName(entity)} DROP COLUMN ${quoteIdent(name)}`);
    this.statements = new Map();
  }

  /** Runs `fn` atomically (a SQLite savepoint, so it nests inside $batch change sets). */
  atomic<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  close(): void {
    this.db.close();
  }
}
