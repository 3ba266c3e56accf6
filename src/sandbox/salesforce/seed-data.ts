import { q, type RecordStore } from './record-store.js';
import { toWireDateTime, type SqlValue } from './record-values.js';
import type { SfObject } from './schema-types.js';

/**
 * Deterministic seed data: the same `records` and `seed` give the same ids, values and timestamps. Names mix
 * apostrophes and non-Latin scripts; every few records share one SystemModstamp, as bulk loads do in real orgs.
 * Rows go straight in through one prepared statement per object inside one transaction (validation is skipped on
 * purpose: the generator only produces valid values), which is what makes a million contacts take seconds.
 */
const FIRST = [
  'Aoife',
  'Liam',
  'Ελένη',
  'Jürgen',
  'Søren',
  '太郎',
  'María',
  'Chloé',
  'Nguyễn Văn',
  'Olivia',
  'Noah',
  'Zoë',
  'Fatima',
  'Björn',
  'Ana',
  'Илья',
];
const LAST = [
  "O'Brien",
  'Müller',
  'Ørsted',
  '山田',
  'Παπαδοπούλου',
  'García',
  'Smith',
  "D'Angelo",
  'Nakamura',
  'Kowalski',
  'Dubois',
  'Jensen',
  'Rossi',
  'Okafor',
  'Иванов',
  'Van der Berg',
];
const CITIES: [string, string, string, number, number][] = [
  ['Dublin', 'Leinster', 'Ireland', 53.3498, -6.2603],
  ['München', 'Bayern', 'Germany', 48.1351, 11.582],
  ['København', 'Hovedstaden', 'Denmark', 55.6761, 12.5683],
  ['東京', '東京都', 'Japan', 35.6762, 139.6503],
  ['Αθήνα', 'Attica', 'Greece', 37.9838, 23.7275],
  ['Madrid', 'Madrid', 'Spain', 40.4168, -3.7038],
  ['Boston', 'MA', 'United States', 42.3601, -71.0589],
  ['Lyon', 'Auvergne-Rhône-Alpes', 'France', 45.764, 4.8357],
];
const COMPANIES = [
  'Northwind',
  'Contoso',
  "Bob's Bikes",
  'Fabrikam',
  'Müller & Söhne',
  '株式会社山田',
  'Ørsted Energi',
  'Acme',
  'Globex',
  'Initech',
];
const TIERS = ['Bronze', 'Silver', 'Gold', 'Platinum', null];
const INTERESTS = ['Cycling', 'Hiking', 'Cooking', 'Music', 'Travel', 'Reading'];
/** Seeded records are dated from here on, one second apart per small group, so runs are reproducible. */
const BASE_TIME = Date.UTC(2024, 0, 1, 8, 0, 0);
const BATCH = 16;

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

class Loader {
  constructor(
    private readonly store: RecordStore,
    private readonly userId: string,
  ) {}

  /** Inserts `count` rows built by `make(i, stamp)`; returns the ids. */
  load(objectName: string, count: number, make: (i: number) => Record<string, SqlValue>): string[] {
    const object: SfObject = this.store.object(objectName);
    const ids: string[] = [];
    if (count <= 0) return ids;
    const sample = make(0);
    const audit = [
      'Id',
      'IsDeleted',
      'CreatedDate',
      'CreatedById',
      'LastModifiedDate',
      'LastModifiedById',
      'SystemModstamp',
    ];
    if (object.byName.has('ownerid')) audit.push('OwnerId');
    const columns = [...audit, ...Object.keys(sample).filter((k) => !audit.includes(k) && k !== '_stamp')];
    // Multi-row INSERTs (BATCH rows per statement) halve the per-row cost of crossing into SQLite.
    const width = columns.length + 1;
    const rowSql = `(${new Array(width).fill('?').join(', ')})`;
    const head = `INSERT INTO ${q(object.name)} ("_rid", ${columns.map(q).join(', ')}) VALUES `;
    const single = this.store.db.prepare(head + rowSql);
    const batch = this.store.db.prepare(head + new Array(BATCH).fill(rowSql).join(', '));
    const values: SqlValue[] = new Array<SqlValue>(width * BATCH);
    let filled = 0;
    let lastStampKey = -1;
    let stamp = '';
    for (let i = 0; i < count; i++) {
      const row = i === 0 ? sample : make(i);
      const { rid, id } = this.store.nextId(object);
      const stampKey = Number(row._stamp ?? 0);
      if (stampKey !== lastStampKey) {
        lastStampKey = stampKey;
        stamp = toWireDateTime(new Date(BASE_TIME + stampKey * 1000));
      }
      let k = filled * width;
      values[k++] = rid;
      values[k++] = id;
      values[k++] = 0;
      values[k++] = stamp;
      values[k++] = this.userId;
      values[k++] = stamp;
      values[k++] = this.userId;
      values[k++] = stamp;
      if (audit.length === 8) values[k++] = this.userId;
      for (let c = audit.length; c < columns.length; c++) values[k++] = row[columns[c] as string] ?? null;
      ids.push(id);
      if (++filled === BATCH) {
        batch.run(values);
        filled = 0;
      }
    }
    for (let r = 0; r < filled; r++) single.run(values.slice(r * width, (r + 1) * width));
    return ids;
  }
}

const pick = <T>(rand: () => number, list: readonly T[]): T => list[Math.floor(rand() * list.length)] as T;
const pad = (n: number, width: number) => String(n).padStart(width, '0');

function ascii(text: string): string {
  const plain = text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/ø/gi, 'o')
    .toLowerCase()
    .replace(/[^a-z]/g, '');
  return plain.length > 0 ? plain : 'user';
}

const FIRST_ASCII = FIRST.map(ascii);
/** Formatting a datetime per row is costly at a million rows: draw from a fixed, reproducible set instead. */
const PURCHASE_TIMES = Array.from({ length: 4096 }, (_, i) =>
  toWireDateTime(new Date(BASE_TIME - ((i * 7_919_993) % (365 * 86_400)) * 1000)),
);
const LAST_ASCII = LAST.map(ascii);

/** Fills the store; `records` is the number of contacts. Returns how many rows each object got. */
export function seedData(store: RecordStore, records: number, seed: number, userId: string): Record<string, number> {
  const rand = mulberry32(seed);
  const loader = new Loader(store, userId);
  const counts: Record<string, number> = {};
  store.db.transaction(() => {
    const nAccounts = Math.max(1, Math.ceil(records / 10));
    const accounts = loader.load('Account', nAccounts, (i) => {
      const [city, state, country, lat, lon] = pick(rand, CITIES);
      return {
        _stamp: Math.floor(i / 4),
        Name: `${pick(rand, COMPANIES)} ${i + 1}`,
        AccountNumber: `A-${pad(i + 1, 7)}`,
        Type: pick(rand, ['Prospect', 'Customer - Direct', 'Customer - Channel', 'Partner']),
        Industry: pick(rand, ['Banking', 'Education', 'Energy', 'Healthcare', 'Retail', 'Technology']),
        Phone: `+1 555 ${pad(Math.floor(rand() * 10000), 4)}`,
        Website: `https://www.example-${i + 1}.com`,
        AnnualRevenue: Math.round(rand() * 50_000_000) / 100,
        NumberOfEmployees: Math.floor(rand() * 5000),
        BillingStreet: `${1 + Math.floor(rand() * 200)} Main Street`,
        BillingCity: city,
        BillingState: state,
        BillingCountry: country,
        BillingPostalCode: pad(Math.floor(rand() * 100000), 5),
        BillingLatitude: lat,
        BillingLongitude: lon,
      };
    });
    counts.Account = accounts.length;
    const contacts = loader.load('Contact', records, (i) => {
      const fi = Math.floor(rand() * FIRST.length);
      const li = Math.floor(rand() * LAST.length);
      const first = FIRST[fi] as string;
      const last = LAST[li] as string;
      const [city, state, country, lat, lon] = pick(rand, CITIES);
      const interests = INTERESTS.filter(() => rand() < 0.25);
      const hasLocation = rand() < 0.5;
      return {
        _stamp: nAccounts + Math.floor(i / 3),
        AccountId: accounts[i % accounts.length] ?? null,
        Salutation: pick(rand, ['Mr.', 'Ms.', 'Mrs.', 'Dr.', null]),
        FirstName: first,
        LastName: last,
        Name: `${first} ${last}`,
        Title: pick(rand, ['Buyer', 'CEO', 'Engineer', 'Marketing Manager', null]),
        Email: `${FIRST_ASCII[fi]}.${LAST_ASCII[li]}.${i + 1}@example.com`,
        Phone: `+44 20 ${pad(Math.floor(rand() * 100000000), 8)}`,
        Birthdate: `${1950 + Math.floor(rand() * 55)}-${pad(1 + Math.floor(rand() * 12), 2)}-${pad(1 + Math.floor(rand() * 28), 2)}`,
        LeadSource: pick(rand, ['Web', 'Phone Inquiry', 'Partner Referral', null]),
        HasOptedOutOfEmail: rand() < 0.1 ? 1 : 0,
        DoNotCall: rand() < 0.05 ? 1 : 0,
        MailingStreet: `${1 + Math.floor(rand() * 300)} ${pick(rand, ['High Street', 'Rue de la Paix', 'Hauptstraße', 'Strøget'])}`,
        MailingCity: city,
        MailingState: state,
        MailingCountry: country,
        MailingPostalCode: pad(Math.floor(rand() * 100000), 5),
        Loyalty_Tier__c: pick(rand, TIERS),
        Interests__c: interests.length > 0 ? interests.join(';') : null,
        Customer_Number__c: `C-${pad(i + 1, 9)}`,
        Score__c: Math.round(rand() * 1000) / 10,
        Discount__c: Math.round(rand() * 30),
        Lifetime_Value__c: Math.round(rand() * 1_000_000) / 100,
        Visits__c: Math.floor(rand() * 500),
        Last_Purchase__c: PURCHASE_TIMES[Math.floor(rand() * PURCHASE_TIMES.length)] as string,
        Home_Location__Latitude__s: hasLocation ? lat : null,
        Home_Location__Longitude__s: hasLocation ? lon : null,
      };
    });
    counts.Contact = contacts.length;
    const stampAfter = nAccounts + Math.ceil(records / 3);
    counts.Lead = loader.load('Lead', Math.ceil(records / 5), (i) => {
      const first = pick(rand, FIRST);
      const last = pick(rand, LAST);
      return {
        _stamp: stampAfter + Math.floor(i / 3),
        FirstName: first,
        LastName: last,
        Name: `${first} ${last}`,
        Company: pick(rand, COMPANIES),
        Email: `${ascii(first)}.${ascii(last)}.lead${i + 1}@example.net`,
        Status: pick(rand, ['Open - Not Contacted', 'Working - Contacted']),
        LeadSource: pick(rand, ['Web', 'Other', null]),
        Rating: pick(rand, ['Hot', 'Warm', 'Cold']),
        IsConverted: 0,
      };
    }).length;
    counts.Opportunity = loader.load('Opportunity', Math.ceil(records / 10), (i) => ({
      _stamp: stampAfter + Math.floor(i / 2),
      AccountId: accounts[i % accounts.length] ?? null,
      Name: `Opportunity ${i + 1}`,
      StageName: pick(rand, ['Prospecting', 'Qualification', 'Closed Won', 'Closed Lost']),
      CloseDate: `2024-${pad(1 + Math.floor(rand() * 12), 2)}-${pad(1 + Math.floor(rand() * 28), 2)}`,
      Amount: Math.round(rand() * 10_000_000) / 100,
      Probability: Math.floor(rand() * 100),
    })).length;
    const products = loader.load('Product2', 20, (i) => ({
      _stamp: stampAfter,
      Name: `Product ${pad(i + 1, 2)}`,
      ProductCode: `P-${pad(i + 1, 4)}`,
      Family: pick(rand, ['Hardware', 'Software', 'Service']),
      IsActive: 1,
    }));
    counts.Product2 = products.length;
    const orders = loader.load('Order', Math.ceil(records / 20), (i) => ({
      _stamp: stampAfter + Math.floor(i / 2),
      AccountId: accounts[i % accounts.length] ?? null,
      OrderNumber: pad(i + 101, 8),
      Status: pick(rand, ['Draft', 'Activated']),
      EffectiveDate: `2024-${pad(1 + Math.floor(rand() * 12), 2)}-${pad(1 + Math.floor(rand() * 28), 2)}`,
      TotalAmount: null,
    }));
    counts.Order = orders.length;
    counts.OrderItem = loader.load('OrderItem', orders.length * 2, (i) => ({
      _stamp: stampAfter + Math.floor(i / 4),
      OrderId: orders[Math.floor(i / 2)] ?? null,
      Product2Id: pick(rand, products),
      Quantity: 1 + Math.floor(rand() * 5),
      UnitPrice: Math.round(rand() * 50_000) / 100,
    })).length;
    counts.Campaign = loader.load('Campaign', 3, (i) => ({
      _stamp: stampAfter,
      Name: ['Spring Launch', 'Été 2024', '年末セール'][i] ?? `Campaign ${i}`,
      Status: 'In Progress',
      StartDate: '2024-03-01',
      EndDate: '2024-12-31',
      IsActive: 1,
    })).length;
    // Custom object rows with a custom relationship (Contact__r) to every 20th contact.
    counts.Loyalty_Card__c = loader.load('Loyalty_Card__c', Math.floor(records / 20), (i) => ({
      _stamp: stampAfter + Math.floor(i / 2),
      Name: `Card ${pad(i + 1, 7)}`,
      Contact__c: contacts[i * 20] ?? null,
      Card_Number__c: `LC-${pad(i + 1, 9)}`,
      Points__c: Math.floor(rand() * 10_000),
      Issued_On__c: `2023-${pad(1 + Math.floor(rand() * 12), 2)}-${pad(1 + Math.floor(rand() * 28), 2)}`,
      Active__c: rand() < 0.9 ? 1 : 0,
    })).length;
  })();
  return counts;
}
