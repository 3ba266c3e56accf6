import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { createSandboxTls, generateRsaKeyPair, issueCertificate } from '../common/sandbox-tls.js';
import type { SandboxHandle, SandboxStartOptions } from '../common/sandbox-types.js';
import { errorReply, SfHttpServer } from './http-server.js';
import { QueryCursors } from './query-cursors.js';
import { RecordStore } from './record-store.js';
import { SfAuth, type ConnectedApp } from './routes-auth.js';
import { adminHandler } from './routes-admin.js';
import { bulkRoutes } from './routes-bulk.js';
import { collectionRoutes } from './routes-collections.js';
import { restRoutes } from './routes-rest.js';
import { Accounting, createAdmin, type SalesforceSandboxAdmin } from './sandbox-admin.js';
import type { SfContext } from './sandbox-context.js';
import { buildCatalog } from './schema-catalog.js';
import { makeId } from './salesforce-ids.js';
import { seedData } from './seed-data.js';
import { SoqlCompiler } from './soql-compiler.js';

export type { SalesforceSandboxAdmin } from './sandbox-admin.js';

/**
 * A local Salesforce org over HTTPS that speaks the REST API wire format: OAuth token endpoint, describe, SOQL
 * query/queryAll with server-side cursors, sObject CRUD and upsert, sObject Collections, Bulk API 2.0,
 * getUpdated/getDeleted, limits and fault injection. See README.md in this folder for routes and limits.
 *
 * @example
 *   const sf = await startSalesforceSandbox({ records: 1000, seed: 7 });
 *   // sf.url, sf.caFile, sf.credentials['client-credentials'].clientId …
 *   await sf.stop();
 */
export interface SalesforceSandbox extends SandboxHandle {
  admin: SalesforceSandboxAdmin;
  /** Rows seeded per object (Contact, Account, Lead, Opportunity, Order, OrderItem, Product2, Campaign). */
  seeded: Record<string, number>;
}

export interface SalesforceSandboxOptions extends SandboxStartOptions {
  /** DailyApiRequests.Max (default 5,000,000 so benchmarks fit). */
  dailyApiLimit?: number;
  /** Recycle-bin retention for getDeleted (default 15 days). */
  deletedRetentionDays?: number;
  /** The org's clock (tests may move time); defaults to the system clock. */
  clock?: () => Date;
}

const ORG_ID = '00DLz0000001SbxMAE';

function loadOrCreateApp(dataDir: string, persistent: boolean): { app: ConnectedApp; keyFile: string } {
  const appFile = path.join(dataDir, 'salesforce-connected-app.json');
  const keyFile = path.join(dataDir, 'salesforce-jwt-key.pem');
  if (persistent && existsSync(appFile) && existsSync(keyFile)) {
    return { app: JSON.parse(readFileSync(appFile, 'utf8')) as ConnectedApp, keyFile };
  }
  const keys = generateRsaKeyPair();
  const certificate = issueCertificate(keys, { subjectCn: 'Liaison sandbox connected app', days: 3650 });
  const app: ConnectedApp = {
    clientId: `3MVG9${randomBytes(30).toString('base64url').replace(/[-_]/g, 'x')}`,
    clientSecret: randomBytes(32).toString('hex').toUpperCase(),
    username: 'integration@liaison-sandbox.example.com',
    password: `Pw-${randomBytes(9).toString('base64url')}`,
    securityToken: randomBytes(18).toString('base64url').replace(/[-_]/g, 'Z'),
    certificate,
  };
  writeFileSync(keyFile, keys.privateKey, { mode: 0o600 });
  writeFileSync(path.join(dataDir, 'salesforce-jwt-cert.pem'), certificate, { mode: 0o644 });
  writeFileSync(appFile, JSON.stringify(app, null, 2), { mode: 0o600 });
  return { app, keyFile };
}

export async function startSalesforceSandbox(options: SalesforceSandboxOptions = {}): Promise<SalesforceSandbox> {
  const persistent = options.dataDir !== undefined;
  const dataDir = options.dataDir ?? mkdtempSync(path.join(os.tmpdir(), 'liaison-sf-sandbox-'));
  mkdirSync(dataDir, { recursive: true });
  const tls = createSandboxTls(dataDir, 'salesforce');
  const { app, keyFile } = loadOrCreateApp(dataDir, persistent);
  const clock = options.clock ?? (() => new Date());
  const userId = makeId('005', 1);

  const db = new Database(persistent ? path.join(dataDir, 'salesforce.sqlite') : ':memory:');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = OFF');
  db.pragma('temp_store = MEMORY');
  db.pragma('cache_size = -200000');
  const store = new RecordStore(db, buildCatalog(), clock, userId);
  const cursors = new QueryCursors(db, new SoqlCompiler(store, clock));
  let seeded: Record<string, number> = {};
  const empty = (db.prepare('SELECT count(*) FROM "User"').pluck().get() as number) === 0;
  if (empty) {
    store.insert(
      'User',
      {
        Username: app.username,
        FirstName: 'Liaison',
        LastName: 'Integration',
        Email: 'integration@example.com',
        Alias: 'liaison',
        IsActive: true,
        CreatedDate: '2024-01-01T00:00:00.000+0000',
        SystemModstamp: '2024-01-01T00:00:00.000+0000',
        LastModifiedDate: '2024-01-01T00:00:00.000+0000',
      },
      { admin: true },
    );
    if ((options.records ?? 0) > 0)
      seeded = store.withoutIndexes(() => seedData(store, options.records ?? 0, options.seed ?? 1, userId));
  }

  let baseUrl = '';
  const limits = { dailyApiRequests: options.dailyApiLimit ?? 5_000_000, used: 0 };
  const accounting = new Accounting(limits);
  const auth = new SfAuth(app, () => baseUrl, ORG_ID, userId, options.tokenTtlSeconds ?? 7200, clock);
  const sf: SfContext = {
    store,
    cursors,
    clock,
    deletedRetentionDays: options.deletedRetentionDays ?? 15,
    limits,
    baseUrl: () => baseUrl,
  };
  const admin = createAdmin(store, cursors, accounting, () => auth.expireAll());
  const bulk = bulkRoutes(sf);
  const server = new SfHttpServer(tls, {
    routes: [...auth.routes(), ...restRoutes(sf), ...collectionRoutes(sf), ...bulk.routes],
    admin: adminHandler(admin),
    authenticate: (req) => auth.authenticate(req),
    chargeApiCall: () => {
      if (limits.used >= limits.dailyApiRequests)
        return errorReply(403, 'REQUEST_LIMIT_EXCEEDED', 'TotalRequests Limit exceeded.');
      limits.used++;
      return undefined;
    },
    limitHeader: () => `api-usage=${limits.used}/${limits.dailyApiRequests}`,
    count: (kind) => accounting.count(kind),
    faults: () => accounting.faults,
    dataFault: () => accounting.dataFault(),
  });
  const host = options.host ?? '127.0.0.1';
  const port = await server.listen(options.port ?? 0, host);
  baseUrl = `https://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url: baseUrl,
    caFile: tls.caFile,
    credentials: {
      'client-credentials': { clientId: app.clientId, clientSecret: app.clientSecret },
      jwt: { clientId: app.clientId, username: app.username, privateKeyFile: keyFile },
      password: {
        clientId: app.clientId,
        clientSecret: app.clientSecret,
        username: app.username,
        password: app.password,
        securityToken: app.securityToken,
      },
    },
    admin,
    seeded,
    stop: async () => {
      bulk.stop();
      cursors.close();
      await server.close();
      db.close();
    },
  };
}
