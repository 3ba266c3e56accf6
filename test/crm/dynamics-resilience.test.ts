import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createDynamicsDriver } from '../../src/crm/dynamics/dynamics-driver.js';
import type { CrmDriver, QueryRequest } from '../../src/crm/driver.js';
import { startDynamicsSandbox } from '../../src/sandbox/dynamics/index.js';
import type { SandboxHandle } from '../../src/sandbox/common/sandbox-types.js';
import { dynamicsSettings } from './dynamics-setup.js';

const SEEDED = 2000;

describe('Dynamics driver under faults', () => {
  let sandbox: SandboxHandle;
  let dir: string;
  const drivers: CrmDriver[] = [];
  const open = (overrides: Parameters<typeof dynamicsSettings>[2] = {}, readParallelism?: number): CrmDriver => {
    const driver = createDynamicsDriver(
      dynamicsSettings(sandbox, 'client-secret', overrides),
      readParallelism ? { readParallelism } : {},
    );
    drivers.push(driver);
    return driver;
  };
  const readAll = async (driver: CrmDriver, request: Partial<QueryRequest> = {}, between?: (page: number) => void) => {
    const ids: string[] = [];
    let page = 0;
    for await (const p of driver.query({ object: 'contact', fields: ['lastname'], pageSize: 250, ...request })) {
      ids.push(...p.records.map((r) => r.id));
      between?.(++page);
    }
    return ids;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'liaison-dynf-'));
    sandbox = await startDynamicsSandbox({ port: 0, host: '127.0.0.1', records: SEEDED, dataDir: dir, seed: 11 });
  });

  afterEach(() => sandbox.admin.setFaults({}));

  afterAll(async () => {
    for (const driver of drivers) await driver.close();
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('renews an expired token mid-stream and resends the page once', async () => {
    const driver = open({}, 1);
    await driver.describeObject('contact');
    const before = driver.apiCalls;
    const ids = await readAll(driver, {}, (page) => {
      if (page === 2) sandbox.admin.expireTokens();
    });
    const pages = Math.ceil(SEEDED / 250);
    expect(new Set(ids).size).toBe(sandbox.admin.countRecords('contact'));
    expect(ids.length).toBe(new Set(ids).size);
    // pages + one refused page (401) + one token call; the prefetched page may be the one refused.
    expect(driver.apiCalls - before).toBe(pages + 2);
  });

  it('renews the token once when parallel windows all meet the expiry', async () => {
    const driver = open();
    await driver.describeObject('contact');
    sandbox.admin.resetRequestCount();
    const ids = await readAll(driver, {}, (page) => {
      if (page === 2) sandbox.admin.expireTokens();
    });
    expect(ids.length).toBe(sandbox.admin.countRecords('contact'));
    expect(new Set(ids).size).toBe(ids.length);
    expect(sandbox.admin.requestCounts().token).toBe(1);
  });

  it('recovers from 429 with Retry-After, 503 and connection resets on reads', async () => {
    const driver = open();
    await driver.describeObject('contact');
    sandbox.admin.setFaults({ rateLimitRate: 0.15, unavailableRate: 0.15, resetRate: 0.15 });
    const ids = await readAll(driver, { pageSize: 500 });
    expect(ids.length).toBe(sandbox.admin.countRecords('contact'));
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('recovers from a reset on the next request', async () => {
    const driver = open();
    await driver.describeObject('contact');
    sandbox.admin.setFaults({ resetOnRequest: 2 });
    const ids = await readAll(driver, { pageSize: 1000 });
    expect(new Set(ids).size).toBe(sandbox.admin.countRecords('contact'));
  });

  it('honours 429 for a write and never resends an insert after a reset', async () => {
    const driver = open();
    await driver.describeObject('contact');
    sandbox.admin.setFaults({ rateLimitRate: 1 });
    const limited = driver.writeBatch({ object: 'contact', operation: 'insert' }, [
      { ref: 'r', values: { lastname: 'After429' } },
    ]);
    setTimeout(() => sandbox.admin.setFaults({}), 1500);
    await expect(limited).resolves.toMatchObject([{ ok: true, created: true }]);

    const count = sandbox.admin.countRecords('contact');
    sandbox.admin.setFaults({ resetOnRequest: 1 });
    await expect(
      driver.writeBatch({ object: 'contact', operation: 'insert' }, [{ ref: 'r', values: { lastname: 'Reset' } }]),
    ).rejects.toMatchObject({ code: 'network_error' });
    // Whether the server stored it or not, the driver did not send it a second time.
    expect(sandbox.admin.countRecords('contact')).toBeLessThanOrEqual(count + 1);
  });

  it('never hangs on a server that stops answering: the request timeout ends it', async () => {
    // The timeout leaves room for the metadata calls on a loaded machine; the stalled answer is ten times longer.
    const driver = open({ requestTimeoutMs: 3_000 });
    await driver.describeObject('contact');
    sandbox.admin.setFaults({ latencyMs: 30_000 });
    await expect(
      driver.writeBatch({ object: 'contact', operation: 'insert' }, [{ ref: 'slow', values: { lastname: 'Slow' } }]),
    ).rejects.toMatchObject({ code: 'timeout' });
  });

  it('gives up on a CRM that stays down, with the HTTP status', async () => {
    const driver = open();
    await driver.describeObject('contact');
    sandbox.admin.setFaults({ down: true });
    // The sandbox's 503 carries an OData error body, so it is reported as the CRM's error with the status kept.
    await expect(readAll(driver)).rejects.toMatchObject({ code: 'crm_error', details: { status: 503 } });
  }, 120_000);
});
