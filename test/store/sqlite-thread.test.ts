import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';

/** The SQLite store runs its connection in a thread; these are the rules that makes for writers. */
describe('SQLite store thread', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'liaison-sqlite-thread-'));
  let store: Store;
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  beforeEach(async () => {
    store = await openStore(`sqlite:${path.join(dir, `${Math.random().toString(36).slice(2)}.db`)}`);
    await sql`create table probe (id integer primary key, name text not null)`.execute(store.db);
  });
  afterEach(() => store.close());

  const names = async () =>
    (await sql<{ name: string }>`select name from probe order by id`.execute(store.db)).rows.map((r) => r.name);

  it('inserts rows handed over without waiting, in order with the statements around them', async () => {
    await store.db.transaction().execute(async (trx) => {
      await sql`insert into probe (name) values ('first')`.execute(trx);
      await store.insertRows!('probe', [{ name: 'second' }, { name: 'third' }]);
      await sql`insert into probe (name) values ('fourth')`.execute(trx);
    });
    expect(await names()).toEqual(['first', 'second', 'third', 'fourth']);
  });

  it('fails the transaction of a row insert that failed, at its next statement, and rolls it back', async () => {
    await expect(
      store.db.transaction().execute(async (trx) => {
        await sql`insert into probe (name) values ('kept only if committed')`.execute(trx);
        await store.insertRows!('probe', [{ name: 'fine' }, { name: null }]);
      }),
    ).rejects.toThrow(/NOT NULL/);
    expect(await names()).toEqual([]);
    // The connection is usable again: the failure was reported once and the transaction is gone.
    await sql`insert into probe (name) values ('after')`.execute(store.db);
    expect(await names()).toEqual(['after']);
  });

  it('writes staged rows with the transaction that inserts them, and nothing for rows never inserted', async () => {
    const kept = [{ name: 'a' }, { name: 'b' }];
    const dropped = [{ name: 'never' }];
    const rolledBack = [{ name: 'rolled back' }];
    store.stageRows!(kept);
    store.stageRows!(dropped);
    store.stageRows!(rolledBack);
    await store.db.transaction().execute(() => store.insertRows!('probe', kept));
    await expect(
      store.db.transaction().execute(async () => {
        await store.insertRows!('probe', rolledBack);
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    expect(await names()).toEqual(['a', 'b']);
  });

  it('reports SQL errors with SQLite’s message and keeps answering', async () => {
    await expect(sql`select * from missing_table`.execute(store.db)).rejects.toThrow(/no such table: missing_table/);
    expect((await sql<{ n: number }>`select 41 + 1 as n`.execute(store.db)).rows).toEqual([{ n: 42 }]);
  });

  it('streams a select in chunks', async () => {
    await store.insertRows!(
      'probe',
      Array.from({ length: 250 }, (_, i) => ({ name: `n${i}` })),
    );
    const seen: string[] = [];
    for await (const row of store.db
      .withTables<{ probe: { id: number; name: string } }>()
      .selectFrom('probe')
      .select('name')
      .orderBy('id')
      .stream(100))
      seen.push(row.name);
    expect(seen).toHaveLength(250);
    expect(seen[249]).toBe('n249');
  });

  it('refuses work once closed', async () => {
    const closed = await openStore(`sqlite:${path.join(dir, 'closed.db')}`);
    await closed.close();
    await expect(sql`select 1`.execute(closed.db)).rejects.toThrow();
  });
});
