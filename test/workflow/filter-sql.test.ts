import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFilter } from '../../src/crm/filter-parse.js';
import { filterToSql } from '../../src/store/filter-sql.js';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import { workflowDb } from '../../src/workflow/workflow-tables.js';
import { storeTargets } from '../support/store-targets.js';

const people = [
  {
    email: 'ada@example.com',
    first_name: 'Ada',
    last_name: "O'Brien",
    country: 'FR',
    email_opt_out: true,
    created_at: '2024-01-10T08:00:00.000Z',
  },
  {
    email: 'bob@example.com',
    first_name: 'Bob',
    last_name: 'Stone',
    country: 'BE',
    email_opt_out: false,
    created_at: '2024-01-15T09:30:00.000Z',
  },
  {
    email: 'cy@test.org',
    first_name: 'Cy',
    last_name: 'Ng',
    country: null,
    email_opt_out: false,
    created_at: '2024-02-01T00:00:00.000Z',
  },
  {
    email: "x' or 1=1 --",
    first_name: 'Eve',
    last_name: 'Hack',
    country: 'FR',
    email_opt_out: false,
    created_at: '2024-03-01T00:00:00.000Z',
  },
];

for (const target of storeTargets()) {
  describe(`filter → SQL on ${target.name}`, () => {
    let store: Store;
    beforeAll(async () => {
      store = await openStore(target.freshUrl());
      const db = workflowDb(store);
      for (const p of people) {
        await db
          .insertInto('recipient')
          .values({
            ...p,
            email_opt_out: store.dialect === 'sqlite' ? Number(p.email_opt_out) : p.email_opt_out,
            phone: null,
            city: null,
            salesforce_id: null,
            dynamics_id: null,
            modified_at: p.created_at,
            modified_locally_at: null,
          })
          .execute();
      }
    });
    afterAll(async () => {
      await store.close();
      await target.cleanup();
    });

    const names = async (text: string): Promise<string[]> => {
      const where = filterToSql(parseFilter(text), { dialect: store.dialect });
      const rows = await workflowDb(store)
        .selectFrom('recipient')
        .select('first_name')
        .where(where)
        .orderBy('id')
        .execute();
      return rows.map((r) => r.first_name ?? '');
    };

    it.each([
      ["country = 'FR'", ['Ada', 'Eve']],
      ["country != 'FR'", ['Bob']],
      ["last_name = 'O''Brien'", ['Ada']],
      ['email_opt_out = true', ['Ada']],
      ['email_opt_out = false', ['Bob', 'Cy', 'Eve']],
      ['created_at >= 2024-01-15', ['Bob', 'Cy', 'Eve']],
      ["created_at < datetime'2024-01-15T09:30:00.000Z'", ['Ada']],
      ["country in ('BE', 'NL')", ['Bob']],
      ["country not in ('BE')", ['Ada', 'Eve']],
      ["email like '%@example.com'", ['Ada', 'Bob']],
      ["email not like '%@example.com'", ['Cy', 'Eve']],
      ['country is null', ['Cy']],
      ['country is not null', ['Ada', 'Bob', 'Eve']],
      ["not (country = 'FR' or country is null)", ['Bob']],
      ["(country = 'FR' and email_opt_out = false) or first_name = 'Cy'", ['Cy', 'Eve']],
      ['id > 2', ['Cy', 'Eve']],
    ])('%s', async (text, expected) => {
      expect(await names(text)).toEqual(expected);
    });

    it('keeps injection attempts as values: they match nothing and drop nothing', async () => {
      expect(await names("email = 'nobody'' or 1=1 --'")).toEqual([]);
      expect(await names("first_name = 'x''; drop table recipient; --'")).toEqual([]);
      // The hostile-looking value matches only the row that really holds it.
      expect(await names("email = 'x'' or 1=1 --'")).toEqual(['Eve']);
      const count = await workflowDb(store)
        .selectFrom('recipient')
        .select((eb) => eb.fn.countAll().as('n'))
        .executeTakeFirstOrThrow();
      expect(Number(count.n)).toBe(4);
    });

    it('refuses fields that are not columns or not identifiers', () => {
      const columns = new Set(['email']);
      expect(() => filterToSql(parseFilter("nope = 'x'"), { dialect: store.dialect, columns })).toThrow(
        /filter field "nope" is not a column/,
      );
      expect(() =>
        filterToSql({ kind: 'compare', field: 'a"; drop', op: '=', value: 1 }, { dialect: store.dialect }),
      ).toThrow(/not a plain identifier/);
    });
  });
}
