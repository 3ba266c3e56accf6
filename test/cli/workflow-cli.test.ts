import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../../src/store/store-open.js';
import { workflowDb } from '../../src/workflow/workflow-tables.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI as a process (TypeScript through tsx), without a terminal: progress must be plain lines. */
function liaison(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      cwd: ROOT,
      env: { ...process.env, LIAISON_LOG_LEVEL: 'error' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

const WORKFLOW = `name: fr-recipients
schedule: "* * * * * *"
activities:
  - name: pick
    type: query
    table: recipient
    filter: "country = 'FR'"
    transitions: { ok: dedupe }
  - name: dedupe
    type: deduplication
    keys: [email]
    transitions: { ok: save }
  - name: save
    type: update-data
    table: fr_copy
    operation: insert-or-update
    keys: [email]
    mapping: { email: email, city: city }
`;

describe('liaison workflow / runs as a process', () => {
  let dir: string;
  let db: string;
  const file = (name: string, text: string) => {
    const full = path.join(dir, name);
    writeFileSync(full, text);
    return full;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'liaison-wfcli-'));
    db = `sqlite:${path.join(dir, 'store.db')}`;
    const store = await openStore(db);
    const now = new Date().toISOString();
    const people = [
      ['a@x.fr', 'Paris', 'FR'],
      ['a@x.fr', 'Lyon', 'FR'],
      ['b@x.fr', 'Nice', 'FR'],
      ['c@x.be', 'Gent', 'BE'],
    ];
    for (const [email, city, country] of people) {
      await workflowDb(store)
        .insertInto('recipient')
        .values({
          email: email!,
          city: city!,
          country: country!,
          first_name: null,
          last_name: null,
          phone: null,
          salesforce_id: null,
          dynamics_id: null,
          created_at: now,
          modified_at: now,
          modified_locally_at: null,
        })
        .execute();
    }
    await store.close();
  });
  afterAll(() => undefined);

  it('validate: exit 0 on a valid file; non-zero with a line-numbered one-line error otherwise', async () => {
    const good = await liaison(['--db', db, 'workflow', 'validate', file('good.yaml', WORKFLOW)]);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/good\.yaml: valid \(workflow "fr-recipients", 3 activities\)/);
    expect(good.stderr).toMatch(/good\.yaml:15: warning: activity "save": table "fr_copy" does not exist yet/);

    const badCron = file('cron.yaml', WORKFLOW.replace('* * * * * *', 'every minute'));
    const bad = await liaison(['--db', db, 'workflow', 'validate', badCron]);
    expect(bad.code).toBe(1);
    const errors = bad.stderr.split('\n').filter((line) => line.startsWith('liaison:') && !line.includes('warning'));
    expect(errors).toEqual([
      expect.stringMatching(
        new RegExp(
          `^liaison: ${badCron.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:2: schedule "every minute" is not a valid cron expression`,
        ),
      ),
    ]);

    const badField = await liaison([
      '--db',
      db,
      'workflow',
      'validate',
      file('field.yaml', WORKFLOW.replace('keys: [email]\n    transitions', 'keys: [mail]\n    transitions')),
    ]);
    expect(badField.code).toBe(1);
    expect(badField.stderr).toMatch(/field\.yaml:11: activity "dedupe": unknown field "mail" in the input working set/);

    const json = await liaison(['--db', db, '--json', 'workflow', 'validate', badCron]);
    expect(JSON.parse(json.stdout)).toMatchObject({ valid: false, issues: [{ severity: 'error', line: 2 }] });
  });

  it('run: plain progress lines, a failure that names --resume, then a resume that completes; runs list/show --json', async () => {
    const wf = file('run.yaml', WORKFLOW);
    const failed = await liaison(['--db', db, 'workflow', 'run', wf]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/^\[pick\] started \(query\)$/m);
    expect(failed.stderr).toMatch(/^\[pick\] succeeded: in 3, out 3, rejects 0/m);
    expect(failed.stderr).toMatch(/^\[dedupe\] succeeded: in 3, out 2/m);
    expect(failed.stderr).toMatch(/\[save\] failed: .*table "fr_copy" does not exist/);
    expect(failed.stderr).toMatch(/liaison: run 1 failed: activity "save" failed: .*--resume 1$/m);

    const store = await openStore(db);
    await store.db.schema.createTable('fr_copy').addColumn('email', 'text').addColumn('city', 'text').execute();
    await store.close();

    const resumed = await liaison(['--db', db, 'workflow', 'run', wf, '--resume', '1']);
    expect(resumed.code).toBe(0);
    expect(resumed.stderr).toMatch(/^\[pick\] done in an earlier attempt/m);
    expect(resumed.stderr).toMatch(/^\[save\] succeeded: in 2, out 2/m);

    const list = await liaison(['--db', db, '--json', 'runs', 'list']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout)).toEqual([
      expect.objectContaining({ id: 1, workflow: 'fr-recipients', status: 'succeeded', attempts: 2 }),
    ]);

    const show = await liaison(['--db', db, '--json', 'runs', 'show', '1']);
    const run = JSON.parse(show.stdout) as {
      activities: { activity: string; status: string; recordsIn: number; recordsOut: number }[];
    };
    expect(run.activities.map((a) => [a.activity, a.status, a.recordsIn, a.recordsOut])).toEqual([
      ['pick', 'succeeded', 3, 3],
      ['dedupe', 'succeeded', 3, 2],
      ['save', 'succeeded', 2, 2],
    ]);
    const text = await liaison(['--db', db, 'runs', 'show', '1']);
    expect(text.stdout).toMatch(/^save\s+update-data\s+succeeded\s+2\s+2\s+0\s+0/m);
    const missing = await liaison(['--db', db, 'runs', 'show', '99']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no run 99/);

    // What a process killed mid-run leaves: the run marked running, its last heartbeat minutes old.
    const left = await openStore(db);
    await workflowDb(left)
      .updateTable('workflow_run')
      .set({ status: 'running', ended_at: null, heartbeat_at: new Date(Date.now() - 5 * 60_000).toISOString() })
      .where('id', '=', 1)
      .execute();
    await left.close();
    const stale = await liaison(['--db', db, 'runs', 'list']);
    expect(stale.stdout).toMatch(
      /^1\s+fr-recipients\s+running\? \(no sign of life since \S+: its process died; resume it\)/m,
    );
    expect(JSON.parse((await liaison(['--db', db, '--json', 'runs', 'show', '1'])).stdout)).toMatchObject({
      status: 'running',
      abandoned: true,
    });
  });

  it('schedule: runs on the cron until --max-runs, recorded with trigger "schedule"', async () => {
    const result = await liaison([
      '--db',
      db,
      'workflow',
      'schedule',
      file('sched.yaml', WORKFLOW.replace('name: fr-recipients', 'name: scheduled')),
      '--max-runs',
      '2',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/scheduled workflow "scheduled"/);
    const list = await liaison(['--db', db, '--json', 'runs', 'list', '--workflow', 'scheduled']);
    const runs = JSON.parse(list.stdout) as { status: string; trigger: string }[];
    expect(runs).toHaveLength(2);
    expect(runs.every((r) => r.status === 'succeeded' && r.trigger === 'schedule')).toBe(true);
  });
});
