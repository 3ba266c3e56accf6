import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store-open.js';
import { storeTargets } from '../support/store-targets.js';

for (const target of storeTargets()) {
  describe(`store on ${target.name}`, () => {
    afterAll(() => target.cleanup());

    it('creates a fresh store with migrations applied and the Liaison marker', async () => {
      const store = await openStore(target.freshUrl());
      try {
        expect(store.dialect).toBe(target.name);
        const marker = await store.db
          .selectFrom('liaison_meta')
          .select('value')
          .where('key', '=', 'store')
          .executeTakeFirst();
        expect(marker?.value).toBe('liaison-store');
        const tables = (await store.db.introspection.getTables()).map((t) => t.name);
        expect(tables).toEqual(expect.arrayContaining(['external_account', 'liaison_meta']));
      } finally {
        await store.close();
      }
    });

    it('reopens an existing store without re-running migrations and keeps its data', async () => {
      const url = target.freshUrl();
      const first = await openStore(url);
      await first.db.insertInto('liaison_meta').values({ key: 'probe', value: 'kept' }).execute();
      await first.close();
      const second = await openStore(url);
      try {
        const row = await second.db
          .selectFrom('liaison_meta')
          .select('value')
          .where('key', '=', 'probe')
          .executeTakeFirst();
        expect(row?.value).toBe('kept');
      } finally {
        await second.close();
      }
    });

    it('rolls back a failed transaction completely', async () => {
      const store = await openStore(target.freshUrl());
      try {
        await expect(
          store.db.transaction().execute(async (trx) => {
            await trx.insertInto('liaison_meta').values({ key: 'half', value: 'written' }).execute();
            await trx.insertInto('liaison_meta').values({ key: 'half', value: 'duplicate key' }).execute();
          }),
        ).rejects.toThrow();
        const row = await store.db
          .selectFrom('liaison_meta')
          .select('value')
          .where('key', '=', 'half')
          .executeTakeFirst();
        expect(row).toBeUndefined();
      } finally {
        await store.close();
      }
    });
  });
}

describe('store URLs and foreign databases', () => {
  it('refuses a file that is not an SQLite database, leaving it untouched', async () => {
    const url = storeTargets()[0]!.freshUrl();
    const file = url.slice('sqlite:'.length);
    writeFileSync(file, 'name,email\nAda,ada@example.com\n');
    await expect(openStore(url)).rejects.toMatchObject({
      code: 'not_a_store',
      message: expect.stringContaining('is not a Liaison store'),
    });
    expect(readFileSync(file, 'utf8')).toBe('name,email\nAda,ada@example.com\n');
  });

  it('refuses an SQLite database that belongs to another application', async () => {
    const url = storeTargets()[0]!.freshUrl();
    const Database = (await import('better-sqlite3')).default;
    const other = new Database(url.slice('sqlite:'.length));
    other.exec('create table invoices (id integer primary key, total real)');
    other.close();
    await expect(openStore(url)).rejects.toMatchObject({ code: 'not_a_store' });
    const again = new Database(url.slice('sqlite:'.length));
    const tables = again.prepare("select name from sqlite_master where type = 'table'").all();
    again.close();
    expect(tables).toEqual([{ name: 'invoices' }]);
  });

  it('creates an SQLite store with 16 KiB pages, and keeps the page size of a store created before', async () => {
    const Database = (await import('better-sqlite3')).default;
    const pageSize = (file: string): unknown => {
      const db = new Database(file, { readonly: true });
      try {
        return db.pragma('page_size', { simple: true });
      } finally {
        db.close();
      }
    };
    const fresh = storeTargets()[0]!.freshUrl();
    await (await openStore(fresh)).close();
    expect(pageSize(fresh.slice('sqlite:'.length))).toBe(16_384);
    // A store made with SQLite's default 4 KiB pages (an earlier Liaison) opens and works as it is.
    const earlier = storeTargets()[0]!.freshUrl();
    const made = new Database(earlier.slice('sqlite:'.length));
    made.pragma('journal_mode = WAL');
    made.close();
    const store = await openStore(earlier);
    try {
      await store.db.insertInto('liaison_meta').values({ key: 'probe', value: 'x' }).execute();
    } finally {
      await store.close();
    }
    expect(pageSize(earlier.slice('sqlite:'.length))).toBe(4096);
  });

  it('reports an unreachable PostgreSQL server with its address', async () => {
    await expect(openStore('postgres://postgres@127.0.0.1:1/test')).rejects.toMatchObject({
      code: 'store_unreachable',
      message: expect.stringContaining('127.0.0.1:1'),
    });
  });

  it('rejects an unsupported store URL', async () => {
    await expect(openStore('mysql://localhost/x')).rejects.toMatchObject({ code: 'invalid_input' });
  });
});
