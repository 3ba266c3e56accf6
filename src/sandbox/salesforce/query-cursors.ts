import type Database from 'better-sqlite3';
import { makeId } from './salesforce-ids.js';
import { parseSoql } from './soql-parser.js';
import type { CompiledQuery, SoqlCompiler } from './soql-compiler.js';
import { SfApiError } from './schema-types.js';

/**
 * Server-side query cursors, as Salesforce keeps them: a query's matching row ids are materialised once, in
 * result order, into temp.cursor_rows; each page is then a range read by position joined back to the records, so
 * paging through a million rows stays O(n) overall and each page costs the same. A cursor is available for two
 * days after its query ran, and since API 56.0 a user may hold any number (the earlier limits, 10 per user and
 * 15 minutes of inactivity, are gone: "API Query Cursor Limits", Salesforce app limits cheatsheet). The sandbox
 * keeps at most MAX_CURSORS, dropping the least recently used, to bound its own memory.
 */
export interface Cursor {
  id: number;
  /** Position in temp.cursor_rows just before this cursor's first row. */
  base: number;
  locator: string;
  compiled: CompiledQuery;
  total: number;
  apiVersion: string;
  batchSize: number;
  openedAt: number;
  lastUsed: number;
}

const CURSOR_TTL_MS = 2 * 86_400_000;
const MAX_CURSORS = 200;

export class QueryCursors {
  private readonly cursors = new Map<string, Cursor>();
  private readonly statements = new Map<string, Database.Statement>();
  private nextCursor = 1;
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly db: Database.Database,
    private readonly compiler: SoqlCompiler,
  ) {
    // One table for all cursors: each query appends its rows, whose rowids (pos) are contiguous per cursor.
    db.exec(`CREATE TEMP TABLE IF NOT EXISTS "cursor_rows" ("pos" INTEGER PRIMARY KEY, "rid" INTEGER)`);
    this.sweeper = setInterval(() => this.sweep(Date.now()), 60_000);
    this.sweeper.unref();
  }

  close(): void {
    clearInterval(this.sweeper);
  }

  /**
   * Forgets cached statements after a metadata change altered a table. Open cursors stay valid (as Salesforce's
   * do); their page statements are prepared again on next use.
   */
  reset(): void {
    this.statements.clear();
  }

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  compile(soql: string, apiVersion: string, includeDeleted: boolean): CompiledQuery {
    return this.compiler.compile(parseSoql(soql), apiVersion, includeDeleted);
  }

  count(compiled: CompiledQuery): number {
    return this.statement(compiled.countSql)
      .pluck()
      .get(...compiled.params) as number;
  }

  /** Runs the query and keeps its result positions; the cursor's `total` is Salesforce's totalSize. */
  open(compiled: CompiledQuery, apiVersion: string, batchSize: number): Cursor {
    const id = this.nextCursor++;
    const info = this.statement(compiled.materializeSql).run(...compiled.params);
    const locator = makeId('01g', id);
    const base = info.changes > 0 ? Number(info.lastInsertRowid) - info.changes : 0;
    const cursor: Cursor = {
      id,
      base,
      locator,
      compiled,
      total: info.changes,
      apiVersion,
      batchSize,
      openedAt: Date.now(),
      lastUsed: Date.now(),
    };
    this.cursors.set(locator, cursor);
    if (this.cursors.size > MAX_CURSORS) {
      const oldest = [...this.cursors.values()].sort((a, b) => a.lastUsed - b.lastUsed)[0];
      if (oldest) this.drop(oldest.locator);
    }
    return cursor;
  }

  get(locator: string): Cursor {
    const cursor = this.cursors.get(locator);
    if (!cursor) throw new SfApiError(400, 'INVALID_QUERY_LOCATOR', 'invalid query locator');
    cursor.lastUsed = Date.now();
    return cursor;
  }

  /** JSON texts of the records at positions (from, from + size]. */
  jsonRows(cursor: Cursor, from: number, size: number): string[] {
    return this.statement(cursor.compiled.jsonSql)
      .pluck()
      .all(
        ...cursor.compiled.selectParams,
        cursor.base + from,
        cursor.base + Math.min(from + size, cursor.total),
      ) as string[];
  }

  /** Raw column values of the records at positions (from, from + size], for CSV. */
  rawRows(cursor: Cursor, from: number, size: number): unknown[][] {
    return this.statement(cursor.compiled.csvSql)
      .raw()
      .all(cursor.base + from, cursor.base + Math.min(from + size, cursor.total)) as unknown[][];
  }

  /** A REST query response body: one page from `from`, with nextRecordsUrl while rows remain. */
  pageBody(cursor: Cursor, from: number): string {
    const rows = this.jsonRows(cursor, from, cursor.batchSize);
    const end = Math.min(from + cursor.batchSize, cursor.total);
    const done = end >= cursor.total;
    // Once the last page is served the cursor is released: a finished locator is never handed out again.
    if (done) this.drop(cursor.locator);
    const next = done ? '' : `"nextRecordsUrl":"/services/data/v${cursor.apiVersion}/query/${cursor.locator}-${end}",`;
    return `{"totalSize":${cursor.total},"done":${done},${next}"records":[${rows.join(',')}]}`;
  }

  drop(locator: string): void {
    const cursor = this.cursors.get(locator);
    if (!cursor) return;
    this.cursors.delete(locator);
    this.statement(`DELETE FROM temp."cursor_rows" WHERE "pos" > ? AND "pos" <= ?`).run(
      cursor.base,
      cursor.base + cursor.total,
    );
  }

  private sweep(now: number): void {
    for (const cursor of [...this.cursors.values()]) {
      if (now - cursor.openedAt > CURSOR_TTL_MS) this.drop(cursor.locator);
    }
  }
}
