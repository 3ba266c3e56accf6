import { isoSeconds } from './dynamics-ids.js';
import type { Statement } from 'better-sqlite3';
import type { EntityDef } from './dynamics-schema-types.js';
import { type DynamicsStore, quoteIdent, type SqlValue, tableName } from './dynamics-store.js';

/**
 * Deterministic seed data: the same `records` and `seed` always give the same rows, ids and stamps. Names mix
 * apostrophes and non-Latin scripts (to exercise escaping and encodings), and every three consecutive contacts
 * share one `modifiedon` (to exercise watermark ties). Rows go in through one prepared statement per table inside
 * one transaction, which loads a million contacts in seconds.
 */

export interface SeedIdentities {
  adminUserId: string;
  appUserId: string;
  appObjectId: string;
  userObjectId: string;
  username: string;
  currencyId: string;
  businessUnitId: string;
  organizationId: string;
}

function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const FIRST = [
  'Ada',
  'Bram',
  'Chloé',
  'Dmitri',
  'Elif',
  'Fatima',
  'Grace',
  'Hiro',
  'Ines',
  'Jamal',
  'Katarzyna',
  'Liam',
  'Mei',
  'Nikolai',
  'Olúwa',
  'Priya',
  'Quentin',
  "D'Arcy",
  'Søren',
  'Zoë',
  'Иван',
  'Ελένη',
  '美咲',
  'محمد',
  'राज',
];
const LAST = [
  'Obi',
  "O'Brien",
  'Müller',
  'García',
  'Nguyen',
  'Smith',
  "D'Angelo",
  'Kowalski',
  'Ñúñez',
  'Johansson',
  'Tanaka',
  'Okafor',
  'Schmidt',
  'Rossi',
  'Dubois',
  'Петров',
  'Παπαδόπουλος',
  '山田',
  'العلي',
  'Łukasiewicz',
];
const CITIES = ['Paris', 'Berlin', 'São Paulo', 'Kraków', 'Zürich', 'London', "L'Aquila", 'Москва', '東京', 'Austin'];
const COUNTRIES = [
  'France',
  'Germany',
  'Brazil',
  'Poland',
  'Switzerland',
  'United Kingdom',
  'Italy',
  'Russia',
  'Japan',
  'United States',
];
const COMPANY = [
  'Contoso',
  'Fabrikam',
  'Northwind',
  'Tailspin',
  'Wingtip',
  'Adventure Works',
  "Litware's",
  'Proseware',
  'Lamna',
  'Ålesund Fisk',
];
const BASE_TIME = Date.UTC(2024, 0, 15, 8, 0, 0);

class Ids {
  constructor(private readonly rng: () => number) {}
  next(): string {
    const h = () =>
      Math.floor(this.rng() * 0x100000000)
        .toString(16)
        .padStart(8, '0');
    const a = h() + h() + h() + h();
    return `${a.slice(0, 8)}-${a.slice(8, 12)}-4${a.slice(13, 16)}-${((parseInt(a.charAt(16), 16) & 3) | 8).toString(16)}${a.slice(17, 20)}-${a.slice(20, 32)}`;
  }
}

type Values = Record<string, SqlValue>;

/**
 * Inserts rows of one table through a single prepared statement; system columns are filled in. The statement
 * names only the columns the seed sets (fixed per table, taken from the first row), since binding dozens of
 * NULLs per row is a measurable share of a million-row load.
 */
function inserter(store: DynamicsStore, entity: EntityDef, ids: SeedIdentities) {
  const all = new Set(entity.attributes.map((a) => a.logicalName));
  const fixed: Values = { createdby: ids.adminUserId, modifiedby: ids.adminUserId, statecode: 0, statuscode: 1 };
  if (all.has('ownerid')) Object.assign(fixed, { ownerid: ids.adminUserId, owneridtype: 'systemuser' });
  if (all.has('transactioncurrencyid'))
    Object.assign(fixed, { transactioncurrencyid: ids.currencyId, exchangerate: 1 });
  // Consecutive rows share stamps; formatting each distinct instant once saves a second per million rows.
  let lastMs = NaN;
  let lastText = '';
  const stamp = (d: Date): string => {
    if (d.getTime() !== lastMs) {
      lastMs = d.getTime();
      lastText = isoSeconds(d);
    }
    return lastText;
  };
  let prepared: { stmt: Statement; position: Map<string, number>; defaults: SqlValue[] } | undefined;
  const prepare = (first: Values) => {
    const columns = ['createdon', 'modifiedon', 'versionnumber', ...Object.keys(fixed), ...Object.keys(first)].filter(
      (c, i, list) => all.has(c) && list.indexOf(c) === i,
    );
    const position = new Map(columns.map((n, i) => [n, i] as const));
    const defaults: SqlValue[] = columns.map((c) => fixed[c] ?? null);
    const stmt = store.db.prepare(
      `INSERT INTO ${tableName(entity)} (${columns.map(quoteIdent).join(', ')}) VALUES (${columns.map(() => '?').join(', ')})`,
    );
    return { stmt, position, defaults };
  };
  return (values: Values, at: Date, created: Date = at): void => {
    prepared ??= prepare(values);
    const { stmt, position, defaults } = prepared;
    const args = defaults.slice();
    args[0] = stamp(created);
    args[1] = stamp(at);
    args[2] = store.nextVersion();
    for (const key in values) {
      const i = position.get(key);
      if (i === undefined) throw new Error(`seed: ${entity.logicalName} has no seeded column ${key}`);
      args[i] = values[key] ?? null;
    }
    stmt.run(args);
  };
}

function pick<T>(rng: () => number, list: readonly T[]): T {
  return list[Math.floor(rng() * list.length)]!;
}

/** Fills the store; returns the ids of the fixed identities (users, currency) the server needs. */
export function seedStore(
  store: DynamicsStore,
  records: number,
  seed: number,
  identity: { appObjectId: string; userObjectId: string; username: string },
): SeedIdentities {
  const rng = mulberry32(seed);
  const idGen = new Ids(mulberry32(seed ^ 0x5eed));
  const ids: SeedIdentities = {
    ...identity,
    adminUserId: idGen.next(),
    appUserId: idGen.next(),
    currencyId: idGen.next(),
    businessUnitId: idGen.next(),
    organizationId: idGen.next(),
  };
  const e = (name: string): EntityDef => store.entity(name)!;
  const base = new Date(BASE_TIME);
  store.atomic(() => {
    inserter(
      store,
      e('systemuser'),
      ids,
    )(
      {
        systemuserid: ids.adminUserId,
        firstname: 'Sandbox',
        lastname: 'Admin',
        fullname: 'Sandbox Admin',
        domainname: identity.username,
        internalemailaddress: identity.username,
        azureactivedirectoryobjectid: identity.userObjectId,
        isdisabled: 0,
      },
      base,
    );
    inserter(
      store,
      e('systemuser'),
      ids,
    )(
      {
        systemuserid: ids.appUserId,
        firstname: '#',
        lastname: 'Liaison Integration',
        fullname: '# Liaison Integration',
        domainname: 'liaison-integration@sandbox',
        azureactivedirectoryobjectid: identity.appObjectId,
        isdisabled: 0,
      },
      base,
    );
    inserter(store, e('team'), ids)({ teamid: idGen.next(), name: 'Sandbox Org Team' }, base);
    inserter(
      store,
      e('transactioncurrency'),
      ids,
    )(
      { transactioncurrencyid: ids.currencyId, currencyname: 'US Dollar', isocurrencycode: 'USD', currencysymbol: '$' },
      base,
    );

    const products: string[] = [];
    const addProduct = inserter(store, e('product'), ids);
    for (let i = 0; i < Math.max(5, Math.min(200, Math.ceil(records / 100))); i++) {
      const id = idGen.next();
      products.push(id);
      addProduct(
        {
          productid: id,
          name: `${pick(rng, ['Widget', 'Gadget', 'Sprocket', 'Gizmo', 'Thingamajig'])} ${i + 1}`,
          productnumber: `P-${String(i + 1).padStart(5, '0')}`,
          price: Math.round(rng() * 100000) / 100,
        },
        base,
      );
    }
    const addCampaign = inserter(store, e('campaign'), ids);
    for (let i = 0; i < 5; i++)
      addCampaign(
        {
          campaignid: idGen.next(),
          name: `Campaign ${i + 1}`,
          codename: `CMP-${i + 1}`,
          typecode: 1 + (i % 5),
          budgetedcost: 1000 * (i + 1),
          actualstart: `2024-0${1 + i}-01`,
        },
        base,
      );

    const accounts: string[] = [];
    const addAccount = inserter(store, e('account'), ids);
    const accountCount = Math.max(1, Math.ceil(records / 10));
    for (let i = 0; i < accountCount; i++) {
      const id = idGen.next();
      accounts.push(id);
      const at = new Date(BASE_TIME + i * 90_000);
      addAccount(
        {
          accountid: id,
          name: `${pick(rng, COMPANY)} ${i + 1}`,
          accountnumber: `A${String(i + 1).padStart(7, '0')}`,
          telephone1: `+1 555 ${String(i % 10000).padStart(4, '0')}`,
          address1_city: pick(rng, CITIES),
          address1_country: pick(rng, COUNTRIES),
          industrycode: 1 + Math.floor(rng() * 8),
          revenue: Math.round(rng() * 1e9) / 100,
          numberofemployees: Math.floor(rng() * 5000),
          creditonhold: rng() < 0.1 ? 1 : 0,
        },
        at,
      );
    }

    const contacts: string[] = [];
    const addContact = inserter(store, e('contact'), ids);
    for (let i = 0; i < records; i++) {
      const id = idGen.next();
      if (contacts.length < 100_000) contacts.push(id);
      const first = pick(rng, FIRST);
      const last = pick(rng, LAST);
      // Every three consecutive contacts share one modifiedon: watermark ties are the normal case, not an edge.
      const at = new Date(BASE_TIME + Math.floor(i / 3) * 60_000);
      const company = rng() < 0.7 ? pick(rng, accounts) : null;
      const interests = [100000000, 100000001, 100000002, 100000003, 100000004].filter(() => rng() < 0.3);
      addContact(
        {
          contactid: id,
          firstname: first,
          lastname: last,
          fullname: `${first} ${last}`,
          emailaddress1: `contact${i + 1}@example.com`,
          telephone1: `+44 20 7946 ${String(i % 10000).padStart(4, '0')}`,
          jobtitle: pick(rng, ['Buyer', 'CTO', 'Marketing Manager', 'Owner', null]),
          address1_city: pick(rng, CITIES),
          address1_country: pick(rng, COUNTRIES),
          address1_postalcode: String(10000 + Math.floor(rng() * 89999)),
          address1_latitude: Math.round((rng() * 180 - 90) * 100000) / 100000,
          birthdate:
            rng() < 0.8
              ? `19${50 + Math.floor(rng() * 50)}-${String(1 + Math.floor(rng() * 12)).padStart(2, '0')}-${String(1 + Math.floor(rng() * 28)).padStart(2, '0')}`
              : null,
          gendercode: rng() < 0.5 ? 1 : 2,
          donotemail: rng() < 0.1 ? 1 : 0,
          numberofchildren: Math.floor(rng() * 4),
          creditlimit: Math.round(rng() * 1000000) / 100,
          parentcustomerid: company,
          parentcustomeridtype: company ? 'account' : null,
          lia_loyaltytier: rng() < 0.9 ? 100000000 + Math.floor(rng() * 4) : null,
          lia_interests: interests.length ? interests.join(',') : null,
          lia_customernumber: `C${String(i + 1).padStart(8, '0')}`,
          lia_score: Math.round(rng() * 10000) / 100,
          lia_points: Math.floor(rng() * 1e6),
          lia_lastpurchaseon: rng() < 0.7 ? isoSeconds(new Date(BASE_TIME - Math.floor(rng() * 3e10))) : null,
        },
        at,
      );
    }

    const addLead = inserter(store, e('lead'), ids);
    for (let i = 0; i < Math.ceil(records / 10); i++) {
      const first = pick(rng, FIRST);
      const last = pick(rng, LAST);
      addLead(
        {
          leadid: idGen.next(),
          subject: `Interested in ${pick(rng, ['widgets', 'gadgets', 'support'])}`,
          firstname: first,
          lastname: last,
          fullname: `${first} ${last}`,
          companyname: pick(rng, COMPANY),
          emailaddress1: `lead${i + 1}@example.org`,
          leadsourcecode: pick(rng, [1, 2, 3, 4, 8, 10]),
          estimatedvalue: Math.round(rng() * 1e7) / 100,
        },
        new Date(BASE_TIME + i * 120_000),
      );
    }
    const addOpp = inserter(store, e('opportunity'), ids);
    const opportunities: string[] = [];
    for (let i = 0; i < Math.ceil(records / 20); i++) {
      const id = idGen.next();
      opportunities.push(id);
      addOpp(
        {
          opportunityid: id,
          name: `Deal ${i + 1}`,
          customerid: pick(rng, accounts),
          customeridtype: 'account',
          estimatedvalue: Math.round(rng() * 1e8) / 100,
          estimatedclosedate: `2024-${String(1 + (i % 12)).padStart(2, '0')}-15`,
          closeprobability: Math.floor(rng() * 101),
        },
        new Date(BASE_TIME + i * 150_000),
      );
    }
    const addOrder = inserter(store, e('salesorder'), ids);
    const addDetail = inserter(store, e('salesorderdetail'), ids);
    for (let i = 0; i < Math.ceil(records / 40); i++) {
      const orderId = idGen.next();
      const at = new Date(BASE_TIME + i * 200_000);
      let total = 0;
      const lines: Values[] = [];
      for (let l = 0; l < 2; l++) {
        const quantity = 1 + Math.floor(rng() * 5);
        const price = Math.round(rng() * 50000) / 100;
        total += quantity * price;
        lines.push({
          salesorderdetailid: idGen.next(),
          salesorderid: orderId,
          productid: pick(rng, products),
          quantity,
          priceperunit: price,
          extendedamount: Math.round(quantity * price * 100) / 100,
          ispriceoverridden: 0,
        });
      }
      const useContact = rng() < 0.5 && contacts.length > 0;
      addOrder(
        {
          salesorderid: orderId,
          name: `Order ${i + 1}`,
          ordernumber: `ORD-${String(i + 1).padStart(6, '0')}`,
          customerid: useContact ? pick(rng, contacts) : pick(rng, accounts),
          customeridtype: useContact ? 'contact' : 'account',
          opportunityid: opportunities.length ? pick(rng, opportunities) : null,
          totalamount: Math.round(total * 100) / 100,
          submitdate: isoSeconds(at).slice(0, 10),
        },
        at,
      );
      for (const line of lines) addDetail({ ...line, productdescription: null }, at);
    }
  });
  store.createIndexes();
  return ids;
}
