import { readFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store-open.js';
import { runCli, spawnCli, startSandboxProcess } from '../support/cli.js';

/**
 * A kill in the middle of an export: the sandbox and the export each run in their own process, the export is
 * killed with SIGKILL while batches are in flight, then run again. The CRM must end with every record exactly once.
 */
const CASES = [
  {
    crm: 'salesforce',
    auth: 'client-credentials',
    object: 'Contact',
    schema: 'crm:sfdcContact',
    idColumn: 'salesforce_id',
    f: { last: 'LastName', email: 'Email' },
  },
  {
    crm: 'dynamics',
    auth: 'client-secret',
    object: 'contact',
    schema: 'crm:dynContact',
    idColumn: 'dynamics_id',
    f: { last: 'lastname', email: 'emailaddress1' },
  },
] as const;

const RECORDS = 3000;

/** Live records of `object`, through the sandbox's loopback admin API (each sandbox has its own route). */
function adminCount(url: string, caFile: string, object: string): Promise<number> {
  const route = object === 'Contact' ? `/_sandbox/records/${object}/count` : `/_sandbox/records/${object}?limit=1`;
  return new Promise((resolve, reject) => {
    https
      .get(`${url}${route}`, { ca: readFileSync(caFile) }, (res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => resolve((JSON.parse(body) as { count: number }).count));
      })
      .on('error', reject);
  });
}

for (const c of CASES) {
  describe(`export to ${c.crm} killed mid-way`, () => {
    it('sends each remaining record exactly once when run again', async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'liaison-kill-'));
      const db = `sqlite:${path.join(dir, 'liaison.db')}`;
      const sandbox = await startSandboxProcess(c.crm, ['--records', '10', '--data', path.join(dir, 'sandbox')]);
      try {
        const creds = sandbox.credentials[c.auth]!;
        const env = {
          LIAISON_DB: db,
          LIAISON_SECRET_KEY_FILE: path.join(dir, 'secret.key'),
          CRM_SECRET: creds.clientSecret,
        };
        const add = [
          'account',
          'add',
          c.crm,
          '--crm',
          c.crm,
          '--url',
          sandbox.url,
          '--auth',
          c.auth,
          '--client-id',
          creds.clientId!,
          '--client-secret-env',
          'CRM_SECRET',
          '--ca-file',
          sandbox.caFile,
        ];
        if (c.crm === 'dynamics') add.push('--tenant', creds.tenant!, '--authority-url', creds.authorityUrl!);
        expect((await runCli(add, { env, cwd: dir })).stderr).toBe('');
        const wizard = await runCli(['wizard', c.crm, '--objects', c.object, '--yes'], { env, cwd: dir });
        expect(wizard.stderr + wizard.code).toMatch(/0$/);

        const store = await openStore(db);
        const now = new Date().toISOString();
        for (let i = 0; i < RECORDS; i += 500) {
          const rows = Array.from({ length: Math.min(500, RECORDS - i) }, (_, k) => ({
            email: `person${i + k}@example.com`,
            last_name: `Person ${i + k}`,
            created_at: now,
            modified_at: now,
            modified_locally_at: now,
          }));
          await store.db
            .withTables<{ recipient: Record<string, unknown> }>()
            .insertInto('recipient')
            .values(rows)
            .execute();
        }
        await store.close();
        const file = path.join(dir, 'export.yaml');
        writeFileSync(
          file,
          `name: export-all
activities:
  - { name: changed, type: query, table: recipient, filter: "modified_locally_at is not null", transitions: { ok: export } }
  - name: export
    type: crm-connector
    account: ${c.crm}
    object: "${c.schema}"
    operation: export
    mode: insert-or-update
    idColumn: ${c.idColumn}
    batchSize: 100
    matchKey: ${c.f.email}
    mapping: { ${c.f.last}: last_name, ${c.f.email}: email }
    writeBack: { table: recipient, key: id, crmId: ${c.idColumn}, clear: modified_locally_at }
    transitions: { ok: done }
  - { name: done, type: end }
`,
        );
        const before = await adminCount(sandbox.url, sandbox.caFile, c.object);

        // Kill the export once a third of the records have reached the CRM.
        const victim = spawnCli(['workflow', 'run', file], { env, cwd: dir });
        const exited = new Promise<number | null>((resolve) => victim.once('exit', (code) => resolve(code)));
        for (;;) {
          if (victim.exitCode !== null) break;
          if ((await adminCount(sandbox.url, sandbox.caFile, c.object)) >= before + RECORDS / 3) {
            victim.kill('SIGKILL');
            break;
          }
          await new Promise((r) => setTimeout(r, 20));
        }
        await exited;
        const midway = await adminCount(sandbox.url, sandbox.caFile, c.object);
        expect(midway).toBeGreaterThan(before);
        expect(midway).toBeLessThan(before + RECORDS);

        // The killed process left its run marked running: resume it, forcing past the guard against a live run.
        const runs = JSON.parse((await runCli(['--json', 'runs', 'list'], { env, cwd: dir })).stdout) as {
          id: number;
          status: string;
        }[];
        expect(runs[0]?.status).toBe('running');
        const rerun = await runCli(['workflow', 'run', file, '--resume', String(runs[0]!.id), '--force'], {
          env,
          cwd: dir,
        });
        expect(rerun.stderr).toMatch(/run \d+ succeeded/);
        expect(rerun.code).toBe(0);
        expect(await adminCount(sandbox.url, sandbox.caFile, c.object)).toBe(before + RECORDS);

        const check = await openStore(db);
        const missing = await sql<{
          n: number;
        }>`select count(*) as n from recipient where ${sql.ref(c.idColumn)} is null or modified_locally_at is not null`.execute(
          check.db,
        );
        const distinct = await sql<{
          n: number;
        }>`select count(distinct ${sql.ref(c.idColumn)}) as n from recipient`.execute(check.db);
        await check.close();
        expect(Number(missing.rows[0]!.n)).toBe(0);
        expect(Number(distinct.rows[0]!.n)).toBe(RECORDS);
      } finally {
        await sandbox.stop();
      }
    });
  });
}
