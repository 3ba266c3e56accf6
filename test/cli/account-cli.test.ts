import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';

/** Each test gets its own folder, store and key file, so nothing leaks between tests or into the repo. */
function workspace() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'liaison-cli-'));
  const env = {
    LIAISON_DB: `sqlite:${path.join(dir, 'liaison.db')}`,
    LIAISON_SECRET_KEY_FILE: path.join(dir, 'secret.key'),
    SF_SECRET: 'cli-secret-value-1234',
  };
  return { dir, env };
}

const addSalesforce = [
  'account',
  'add',
  'sf',
  '--crm',
  'salesforce',
  '--url',
  'https://login.example.test',
  '--auth',
  'client-credentials',
  '--client-id',
  'abc',
  '--client-secret-env',
  'SF_SECRET',
];

describe('liaison account (CLI)', () => {
  it('adds, lists, shows (without secrets) and removes an account', async () => {
    const { dir, env } = workspace();
    const added = await runCli(addSalesforce, { env, cwd: dir });
    expect(added.stderr).toBe('');
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('added external account "sf"');

    const list = await runCli(['account', 'list'], { env, cwd: dir });
    expect(list.stdout).toMatch(/NAME\s+CRM\s+AUTH\s+API\s+URL/);
    expect(list.stdout).toMatch(/sf\s+salesforce\s+client-credentials\s+62\.0\s+https:\/\/login\.example\.test/);

    const show = await runCli(['--json', 'account', 'show', 'sf'], { env, cwd: dir });
    const view = JSON.parse(show.stdout) as Record<string, unknown>;
    expect(view).toMatchObject({ name: 'sf', crm: 'salesforce', clientId: 'abc', secrets: { clientSecret: 'set' } });
    expect(show.stdout + list.stdout + added.stdout).not.toContain('cli-secret-value-1234');

    const removed = await runCli(['account', 'remove', 'sf'], { env, cwd: dir });
    expect(removed.code).toBe(0);
    expect(JSON.parse((await runCli(['--json', 'account', 'list'], { env, cwd: dir })).stdout)).toEqual([]);
  });

  it('updates an account: new URL and secret from the environment, the rest kept; nothing to change is an error', async () => {
    const { dir, env } = workspace();
    expect((await runCli(addSalesforce, { env, cwd: dir })).code).toBe(0);
    const updated = await runCli(
      ['account', 'update', 'sf', '--url', 'https://other.example.test', '--client-secret-env', 'SF_NEW_SECRET'],
      { env: { ...env, SF_NEW_SECRET: 'cli-new-secret-5678' }, cwd: dir },
    );
    expect(updated.stderr).toBe('');
    expect(updated.code).toBe(0);
    expect(updated.stdout).toContain('updated external account "sf"');
    const view = JSON.parse((await runCli(['--json', 'account', 'show', 'sf'], { env, cwd: dir })).stdout) as object;
    expect(view).toMatchObject({
      url: 'https://other.example.test',
      clientId: 'abc',
      secrets: { clientSecret: 'set' },
    });
    expect(updated.stdout).not.toContain('cli-new-secret-5678');

    const noCa = await runCli(['account', 'update', 'sf', '--no-ca-file'], { env, cwd: dir });
    expect(noCa.code).toBe(0);
    const nothing = await runCli(['account', 'update', 'sf'], { env, cwd: dir });
    expect(nothing.code).not.toBe(0);
    expect(nothing.stderr.trim()).toMatch(/^liaison: .*nothing to change for "sf"/);
    const insecure = await runCli(['account', 'update', 'sf', '--url', 'http://other.example.test'], { env, cwd: dir });
    expect(insecure.code).not.toBe(0);
    expect(insecure.stderr.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse((await runCli(['--json', 'account', 'show', 'sf'], { env, cwd: dir })).stdout)).toMatchObject({
      url: 'https://other.example.test',
    });
  });

  it('rekeys: a new key file is made and opens the secrets, the old one no longer does', async () => {
    const { dir, env } = workspace();
    expect((await runCli(addSalesforce, { env, cwd: dir })).code).toBe(0);
    const newKeyFile = path.join(dir, 'new.key');
    const rekeyed = await runCli(['account', 'rekey', '--new-key-file', newKeyFile], { env, cwd: dir });
    expect(rekeyed.stderr).toBe('');
    expect(rekeyed.code).toBe(0);
    expect(rekeyed.stdout).toContain('re-encrypted the secrets of 1 account(s)');
    expect(statSync(newKeyFile).mode & 0o777).toBe(0o600);
    // account test decrypts before it connects: the old key stops there, the new one gets as far as the network.
    const old = await runCli(['account', 'test', 'sf'], { env, cwd: dir });
    expect(old.code).not.toBe(0);
    expect(old.stderr).toMatch(/secret key/);
    const fresh = await runCli(['account', 'test', 'sf'], {
      env: { ...env, LIAISON_SECRET_KEY_FILE: newKeyFile },
      cwd: dir,
    });
    expect(fresh.code).not.toBe(0);
    expect(fresh.stderr).not.toMatch(/secret key/);
    // With a wrong current key nothing moves and no key file is left behind.
    const stray = path.join(dir, 'stray.key');
    const refused = await runCli(['account', 'rekey', '--new-key-file', stray], { env, cwd: dir });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(existsSync(stray)).toBe(false);
  });

  it('refuses an http URL with a one-line error, exit code non-zero and no stack trace', async () => {
    const { dir, env } = workspace();
    const result = await runCli(
      addSalesforce.map((a) => (a === 'https://login.example.test' ? 'http://login.example.test' : a)),
      { env, cwd: dir },
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).toMatch(/^liaison: .*CRM connectors work only over HTTPS/);
    expect(JSON.parse((await runCli(['--json', 'account', 'list'], { env, cwd: dir })).stdout)).toEqual([]);
  });

  it('refuses a secret named by an unset environment variable', async () => {
    const { dir, env } = workspace();
    const result = await runCli([...addSalesforce.slice(0, -1), 'NOT_SET_ANYWHERE'], { env, cwd: dir });
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/environment variable NOT_SET_ANYWHERE \(named by --client-secret-env\) is not set/);
  });

  it('has no flag that takes a secret as a plain argv value', async () => {
    const help = await runCli(['account', 'add', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('--client-secret-env <var>');
    expect(help.stdout).not.toMatch(/--client-secret <|--password <|--security-token </);
  });

  it('names an unknown account and a store that is not a Liaison store', async () => {
    const { dir, env } = workspace();
    const unknown = await runCli(['account', 'show', 'ghost'], { env, cwd: dir });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('liaison: no external account named "ghost"; see \'liaison account list\'\n');
    const foreign = path.join(dir, 'notes.txt');
    writeFileSync(foreign, 'hello');
    const notStore = await runCli(['--db', `sqlite:${foreign}`, 'account', 'list'], { env, cwd: dir });
    expect(notStore.code).toBe(1);
    expect(notStore.stderr).toMatch(/is not a Liaison store/);
    const verbose = await runCli(['--verbose', 'account', 'show', 'ghost'], { env, cwd: dir });
    expect(verbose.stderr).toMatch(/LiaisonError|at /);
  });

  it('reports a wrong secret key instead of crashing', async () => {
    const { dir, env } = workspace();
    expect((await runCli(addSalesforce, { env, cwd: dir })).code).toBe(0);
    const wrongKey = { ...env, LIAISON_SECRET_KEY: Buffer.alloc(32, 1).toString('base64') };
    const result = await runCli(['account', 'test', 'sf'], { env: wrongKey, cwd: dir });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^liaison: cannot decrypt the secrets of external account "sf"/);
  });
});
