import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDynamicsDriver } from '../../src/crm/dynamics/dynamics-driver.js';
import type { CrmDriver } from '../../src/crm/driver.js';
import { startDynamicsSandbox } from '../../src/sandbox/dynamics/index.js';
import type { SandboxHandle } from '../../src/sandbox/common/sandbox-types.js';
import { dynamicsSettings } from './dynamics-setup.js';

describe('Dynamics driver writes ($batch)', () => {
  let sandbox: SandboxHandle;
  let driver: CrmDriver;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'liaison-dynw-'));
    sandbox = await startDynamicsSandbox({ port: 0, host: '127.0.0.1', records: 50, dataDir: dir, seed: 3 });
    driver = createDynamicsDriver(dynamicsSettings(sandbox));
  });

  afterAll(async () => {
    await driver?.close();
    await sandbox?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('inserts with per-record outcomes in order, one reject carrying the CRM code and message', async () => {
    const [account] = sandbox.admin.listIds('account', 1);
    const outcomes = await driver.writeBatch({ object: 'contact', operation: 'insert' }, [
      {
        ref: 'a',
        values: {
          lastname: 'Insert-A',
          lia_interests: ['100000000', '100000001'],
          parentcustomerid: account,
          'parentcustomerid@target': 'account',
          birthdate: '1990-05-06',
        },
      },
      { ref: 'b', values: { lastname: 'Insert-B', gendercode: 99 } },
      { ref: 'c', values: { lastname: 'Insert-C', lia_customernumber: 'CN-INS-C' } },
    ]);
    expect(outcomes.map((o) => o.ref)).toEqual(['a', 'b', 'c']);
    expect(outcomes[0]).toMatchObject({ ok: true, created: true });
    expect(outcomes[2]).toMatchObject({ ok: true, created: true });
    const reject = outcomes[1]!;
    expect(reject.ok).toBe(false);
    if (!reject.ok) {
      expect(reject.code).not.toBe('');
      expect(reject.message).toMatch(/\S/);
    }
    const a = outcomes[0]!.ok ? outcomes[0]!.id : '';
    const row = sandbox.admin.getRecord('contact', a);
    expect(row).toMatchObject({ lastname: 'Insert-A', lia_interests: '100000000,100000001', birthdate: '1990-05-06' });
    expect(String(row?.['_parentcustomerid_value'] ?? row?.parentcustomerid).toLowerCase()).toBe(
      account!.toLowerCase(),
    );
  });

  it('updates, upserts by alternate key (created vs updated) and deletes', async () => {
    const [first, second] = sandbox.admin.listIds('contact', 2);
    const updated = await driver.writeBatch({ object: 'contact', operation: 'update' }, [
      { ref: 'u1', id: first, values: { jobtitle: 'Updated' } },
      { ref: 'u2', id: '00000000-0000-4000-8000-00000000dead', values: { jobtitle: 'Ghost' } },
    ]);
    expect(updated[0]).toMatchObject({ ok: true, id: first!.toLowerCase(), created: false });
    expect(updated[1]).toMatchObject({ ok: false });
    expect(sandbox.admin.getRecord('contact', first!)?.jobtitle).toBe('Updated');

    const key = "CN-O'UP";
    const upsert = () =>
      driver.writeBatch({ object: 'contact', operation: 'upsert', externalIdField: 'lia_customernumber' }, [
        { ref: 'k1', values: { lia_customernumber: key, lastname: 'Upserted' } },
      ]);
    const createdOutcome = await upsert();
    expect(createdOutcome[0]).toMatchObject({ ok: true, created: true });
    const again = await upsert();
    expect(again[0]).toMatchObject({ ok: true, created: false });
    if (createdOutcome[0]!.ok && again[0]!.ok) expect(again[0]!.id).toBe(createdOutcome[0]!.id);
    const id = createdOutcome[0]!.ok ? createdOutcome[0]!.id : '';
    expect(sandbox.admin.getRecord('contact', id)).toMatchObject({ lia_customernumber: key, lastname: 'Upserted' });

    const deleted = await driver.writeBatch({ object: 'contact', operation: 'delete' }, [
      { ref: 'd1', id: second, values: {} },
      { ref: 'd2', id: '00000000-0000-4000-8000-00000000dead', values: {} },
    ]);
    expect(deleted[0]).toMatchObject({ ok: true, id: second!.toLowerCase() });
    expect(deleted[1]).toMatchObject({ ok: false });
    expect(sandbox.admin.getRecord('contact', second!)).toBeUndefined();
  });

  it('binds a single-target lookup through its navigation property', async () => {
    const [contact] = sandbox.admin.listIds('contact', 1);
    const [outcome] = await driver.writeBatch({ object: 'account', operation: 'insert' }, [
      { ref: 'acc', values: { name: 'Bound Co', primarycontactid: contact } },
    ]);
    expect(outcome).toMatchObject({ ok: true, created: true });
    const row = sandbox.admin.getRecord('account', outcome!.ok ? outcome!.id : '');
    expect(String(row?.['_primarycontactid_value'] ?? row?.primarycontactid).toLowerCase()).toBe(
      contact!.toLowerCase(),
    );
  });

  it('rejects an unsendable value locally without failing the batch', async () => {
    const outcomes = await driver.writeBatch({ object: 'contact', operation: 'insert' }, [
      { ref: 'x', values: { lastname: 'Fine' } },
      { ref: 'y', values: { lastname: 'Bad', numberofchildren: 'many' } },
    ]);
    expect(outcomes[0]).toMatchObject({ ok: true });
    expect(outcomes[1]).toMatchObject({ ok: false, code: 'invalid_input' });
  });
});
