import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, beforeEach, afterEach, describe, expect, it } from 'vitest';
import { AccountsService } from '../../src/accounts/accounts-service.js';
import type { AccountInput } from '../../src/accounts/account-model.js';
import { loadSecretKey, type SecretKey } from '../../src/accounts/secret-box.js';
import { generateRsaKeyPair, issueCertificate } from '../../src/sandbox/common/sandbox-tls.js';
import { openStore } from '../../src/store/store-open.js';
import type { Store } from '../../src/store/store-types.js';
import { storeTargets } from '../support/store-targets.js';

const CLIENT_SECRET = 'cs-' + randomBytes(12).toString('hex');
const PASSWORD = 'pw-' + randomBytes(12).toString('hex');
const dir = mkdtempSync(path.join(os.tmpdir(), 'liaison-accounts-'));
const keys = generateRsaKeyPair();
const keyFile = path.join(dir, 'app.key');
writeFileSync(keyFile, keys.privateKey);
const certFile = path.join(dir, 'app.crt');
writeFileSync(certFile, issueCertificate(keys, { subjectCn: 'app' }));
const caFile = path.join(dir, 'ca.pem');
writeFileSync(caFile, issueCertificate(generateRsaKeyPair(), { subjectCn: 'ca', isCa: true }));

const fixedKey = (): SecretKey => ({ key: Buffer.alloc(32, 7), source: 'test key' });

const salesforce = (overrides: Partial<AccountInput> = {}): AccountInput => ({
  name: 'sf',
  crm: 'salesforce',
  url: 'https://login.example.test',
  auth: 'client-credentials',
  clientId: 'client-1',
  secrets: { clientSecret: CLIENT_SECRET },
  ...overrides,
});

for (const target of storeTargets()) {
  describe(`external accounts on ${target.name}`, () => {
    let store: Store;
    let accounts: AccountsService;
    beforeEach(async () => {
      store = await openStore(target.freshUrl());
      accounts = new AccountsService(store, fixedKey);
    });
    afterEach(() => store.close());
    afterAll(() => target.cleanup());

    /** Every row of the account and meta tables, to prove a refused command changed nothing. */
    const snapshot = async () => ({
      accounts: await store.db.selectFrom('external_account').selectAll().orderBy('id').execute(),
      meta: await store.db.selectFrom('liaison_meta').selectAll().orderBy('key').execute(),
    });

    it('adds, lists, shows and removes accounts for both CRMs', async () => {
      const added = await accounts.add(salesforce());
      expect(added.warnings).toEqual([]);
      expect(added.account).toMatchObject({
        name: 'sf',
        crm: 'salesforce',
        apiVersion: '62.0',
        auth: 'client-credentials',
        clientId: 'client-1',
      });
      expect(added.account.secrets).toEqual({ clientSecret: 'set' });
      await accounts.add({
        name: 'dyn',
        crm: 'dynamics',
        url: 'https://org.example.test',
        auth: 'certificate',
        tenant: 'contoso',
        clientId: 'app-1',
        privateKeyFile: keyFile,
        certificateFile: certFile,
        caFile,
        apiVersion: 'v9.2',
      });
      const list = await accounts.list();
      expect(list.map((a) => [a.name, a.crm, a.apiVersion])).toEqual([
        ['dyn', 'dynamics', '9.2'],
        ['sf', 'salesforce', '62.0'],
      ]);
      const dyn = await accounts.show('dyn');
      expect(dyn).toMatchObject({ certificate: 'set', caFile: path.resolve(caFile), secrets: { privateKey: 'set' } });
      const settings = await accounts.connectionSettings('dyn');
      expect(settings.auth.privateKey).toBe(keys.privateKey);
      expect(settings.auth.certificate).toContain('BEGIN CERTIFICATE');
      await accounts.remove('sf');
      expect((await accounts.list()).map((a) => a.name)).toEqual(['dyn']);
    });

    it('warns when the retiring username-password flows are chosen', async () => {
      const sf = await accounts.add(
        salesforce({
          auth: 'password',
          username: 'u@example.com',
          secrets: { clientSecret: CLIENT_SECRET, password: PASSWORD },
        }),
      );
      expect(sf.warnings.join()).toMatch(/retired/);
      const dyn = await accounts.add({
        name: 'd',
        crm: 'dynamics',
        url: 'https://org.example.test',
        auth: 'password',
        tenant: 't',
        clientId: 'c',
        username: 'u',
        secrets: { password: PASSWORD },
      });
      expect(dyn.warnings.join()).toMatch(/multi-factor/);
    });

    it('keeps secrets encrypted at rest: no plaintext secret anywhere in the raw tables', async () => {
      await accounts.add(
        salesforce({
          auth: 'password',
          username: 'u@example.com',
          secrets: { clientSecret: CLIENT_SECRET, password: PASSWORD, securityToken: 'tok-secret-123' },
        }),
      );
      await accounts.add({
        name: 'jwt',
        crm: 'salesforce',
        url: 'https://login.example.test',
        auth: 'jwt',
        clientId: 'c',
        username: 'u',
        privateKeyFile: keyFile,
      });
      const rows = await sql<Record<string, unknown>>`select * from external_account`.execute(store.db);
      const raw = JSON.stringify(rows.rows);
      for (const secret of [CLIENT_SECRET, PASSWORD, 'tok-secret-123', keys.privateKey.split('\n')[1]!])
        expect(raw).not.toContain(secret);
      if (target.name === 'sqlite') {
        const file = store.location.slice('sqlite:'.length);
        await store.close();
        const bytes =
          readFileSync(file).toString('latin1') + readFileSync(file + '-wal', { flag: 'a+' }).toString('latin1');
        expect(bytes).not.toContain(CLIENT_SECRET);
        expect(bytes).not.toContain(PASSWORD);
        store = await openStore(`sqlite:${file}`);
        accounts = new AccountsService(store, fixedKey);
      }
      expect((await accounts.connectionSettings('sf')).auth).toMatchObject({
        clientSecret: CLIENT_SECRET,
        password: PASSWORD,
        securityToken: 'tok-secret-123',
      });
    });

    const refusals: [string, Partial<AccountInput>, RegExp, string][] = [
      ['unknown CRM type', { crm: 'hubspot' }, /unknown CRM type "hubspot"/, 'invalid_input'],
      ['http URL', { url: 'http://login.example.test' }, /CRM connectors work only over HTTPS/, 'insecure_url'],
      ['malformed URL', { url: 'login example' }, /not a valid URL/, 'invalid_input'],
      [
        'http authority URL',
        { crm: 'dynamics', auth: 'client-secret', tenant: 't', authorityUrl: 'http://login.example.test' },
        /only over HTTPS/,
        'insecure_url',
      ],
      ['unknown auth mode', { auth: 'magic' }, /--auth magic is not a Salesforce auth mode/, 'invalid_input'],
      ['missing required option', { clientId: undefined }, /needs --client-id/, 'invalid_input'],
      ['missing secret', { secrets: {} }, /needs --client-secret-env VAR/, 'invalid_input'],
      [
        'unreadable private key file',
        { auth: 'jwt', username: 'u', privateKeyFile: path.join(dir, 'missing.key') },
        /cannot read the private key file .*ENOENT/,
        'invalid_input',
      ],
      [
        'private key file that is not a key',
        { auth: 'jwt', username: 'u', privateKeyFile: caFile },
        /does not hold a PEM private key/,
        'invalid_input',
      ],
      ['unreadable CA file', { caFile: path.join(dir, 'nope.pem') }, /cannot read CA file/, 'tls_error'],
      ['bad account name', { name: '1 bad name' }, /account name must start with a letter/, 'invalid_input'],
      ['bad API version', { apiVersion: 'latest' }, /apiVersion must look like/, 'invalid_input'],
    ];
    for (const [what, overrides, message, code] of refusals) {
      it(`refuses ${what} with a clear error and changes nothing`, async () => {
        await accounts.add(salesforce({ name: 'existing' }));
        const before = await snapshot();
        await expect(accounts.add(salesforce(overrides))).rejects.toMatchObject({
          code,
          message: expect.stringMatching(message),
        });
        expect(await snapshot()).toEqual(before);
      });
    }

    it('updates an account: the given settings and secrets change, the rest is kept, secrets stay encrypted', async () => {
      await accounts.add(salesforce({ apiVersion: '61.0' }));
      const newSecret = 'cs-new-' + randomBytes(8).toString('hex');
      const updated = await accounts.update('sf', {
        url: 'https://other.example.test',
        secrets: { clientSecret: newSecret },
      });
      expect(updated.account).toMatchObject({
        name: 'sf',
        url: 'https://other.example.test',
        apiVersion: '61.0',
        clientId: 'client-1',
        auth: 'client-credentials',
        secrets: { clientSecret: 'set' },
      });
      expect((await accounts.connectionSettings('sf')).auth).toMatchObject({
        clientSecret: newSecret,
        clientId: 'client-1',
      });
      const raw = JSON.stringify(
        (await sql<Record<string, unknown>>`select * from external_account`.execute(store.db)).rows,
      );
      expect(raw).not.toContain(newSecret);
      expect(raw).not.toContain(CLIENT_SECRET);
      // Another CA file and a new API version, nothing else.
      await accounts.update('sf', { caFile, apiVersion: 'v62.0' });
      expect(await accounts.show('sf')).toMatchObject({
        caFile,
        apiVersion: '62.0',
        url: 'https://other.example.test',
      });
      // And back to the usual roots only.
      await accounts.update('sf', { caFile: null });
      expect(await accounts.show('sf')).not.toHaveProperty('caFile');
      expect(await accounts.connectionSettings('sf')).not.toHaveProperty('caFile');
    });

    it('keeps only the secrets a new auth mode needs, and the stored key file unless a new one is given', async () => {
      await accounts.add(
        salesforce({
          auth: 'password',
          username: 'u@example.com',
          secrets: { clientSecret: CLIENT_SECRET, password: PASSWORD, securityToken: 'tok-secret-123' },
        }),
      );
      const jwt = await accounts.update('sf', { auth: 'jwt', privateKeyFile: keyFile });
      expect(jwt.account.secrets).toEqual({ privateKey: 'set' });
      expect((await accounts.connectionSettings('sf')).auth).toEqual({
        mode: 'jwt',
        clientId: 'client-1',
        username: 'u@example.com',
        privateKey: keys.privateKey,
      });
      // Same mode: the stored private key stays.
      await accounts.update('sf', { username: 'v@example.com' });
      expect((await accounts.connectionSettings('sf')).auth).toMatchObject({
        username: 'v@example.com',
        privateKey: keys.privateKey,
      });
    });

    const updateRefusals: [string, Parameters<AccountsService['update']>[1], RegExp, string][] = [
      ['an http URL', { url: 'http://login.example.test' }, /only over HTTPS/, 'insecure_url'],
      [
        'a new auth mode without what it needs',
        { auth: 'jwt', username: 'u' },
        /needs --private-key-file/,
        'invalid_input',
      ],
      ['an unknown auth mode', { auth: 'magic' }, /--auth magic is not a Salesforce auth mode/, 'invalid_input'],
      ['an unreadable CA file', { caFile: path.join(dir, 'nope.pem') }, /cannot read CA file/, 'tls_error'],
      ['a bad API version', { apiVersion: 'latest' }, /apiVersion must look like/, 'invalid_input'],
    ];
    for (const [what, changes, message, code] of updateRefusals) {
      it(`refuses an update with ${what} and changes nothing`, async () => {
        await accounts.add(salesforce());
        const before = await snapshot();
        await expect(accounts.update('sf', changes)).rejects.toMatchObject({
          code,
          message: expect.stringMatching(message),
        });
        expect(await snapshot()).toEqual(before);
      });
    }

    it('refuses to update an unknown account, or with the wrong secret key, and changes nothing', async () => {
      await accounts.add(salesforce());
      const before = await snapshot();
      await expect(accounts.update('ghost', { clientId: 'x' })).rejects.toMatchObject({ code: 'account_not_found' });
      const wrong = new AccountsService(store, () => ({ key: Buffer.alloc(32, 9), source: 'LIAISON_SECRET_KEY' }));
      await expect(wrong.update('sf', { clientId: 'x' })).rejects.toMatchObject({ code: 'secret_key' });
      expect(await snapshot()).toEqual(before);
    });

    it('re-encrypts every secret with a new key: only the new key opens them, and no plaintext appears', async () => {
      await accounts.add(salesforce());
      await accounts.add(salesforce({ name: 'sf2', secrets: { clientSecret: PASSWORD } }));
      const newKey = (): SecretKey => ({ key: Buffer.alloc(32, 8), source: 'new key' });
      expect(await accounts.rekey(newKey())).toEqual({ accounts: 2 });
      await expect(accounts.connectionSettings('sf')).rejects.toMatchObject({ code: 'secret_key' });
      const rekeyed = new AccountsService(store, newKey);
      expect((await rekeyed.connectionSettings('sf')).auth).toMatchObject({ clientSecret: CLIENT_SECRET });
      expect((await rekeyed.connectionSettings('sf2')).auth).toMatchObject({ clientSecret: PASSWORD });
      const raw = JSON.stringify(
        (await sql<Record<string, unknown>>`select * from external_account`.execute(store.db)).rows,
      );
      expect(raw).not.toContain(CLIENT_SECRET);
      expect(raw).not.toContain(PASSWORD);
      // The store now expects the new key: adding with the old one is refused before anything is written.
      await expect(accounts.add(salesforce({ name: 'sf3' }))).rejects.toMatchObject({ code: 'secret_key' });
      await rekeyed.add(salesforce({ name: 'sf3' }));
    });

    it('refuses to rekey with the wrong current key or to the same key, and changes nothing', async () => {
      await accounts.add(salesforce());
      const before = await snapshot();
      const wrong = new AccountsService(store, () => ({ key: Buffer.alloc(32, 9), source: 'LIAISON_SECRET_KEY' }));
      await expect(wrong.rekey({ key: Buffer.alloc(32, 8), source: 'new key' })).rejects.toMatchObject({
        code: 'secret_key',
      });
      await expect(accounts.rekey(fixedKey())).rejects.toMatchObject({
        code: 'invalid_input',
        message: expect.stringContaining('is the current one'),
      });
      expect(await snapshot()).toEqual(before);
    });

    it('refuses a duplicate name and changes nothing', async () => {
      await accounts.add(salesforce());
      const before = await snapshot();
      await expect(accounts.add(salesforce({ clientId: 'other' }))).rejects.toMatchObject({
        code: 'account_exists',
        message: expect.stringContaining('"sf" already exists'),
      });
      expect(await snapshot()).toEqual(before);
    });

    it('names the unknown account on show, test and remove', async () => {
      await accounts.add(salesforce());
      const before = await snapshot();
      for (const call of [() => accounts.show('ghost'), () => accounts.test('ghost'), () => accounts.remove('ghost')]) {
        await expect(call()).rejects.toMatchObject({
          code: 'account_not_found',
          message: expect.stringContaining('"ghost"'),
        });
      }
      expect(await snapshot()).toEqual(before);
    });

    it('says the secret key is wrong instead of crashing, and refuses to add with it', async () => {
      await accounts.add(salesforce());
      const wrong = new AccountsService(store, () => ({ key: Buffer.alloc(32, 9), source: 'LIAISON_SECRET_KEY' }));
      await expect(wrong.connectionSettings('sf')).rejects.toMatchObject({
        code: 'secret_key',
        message: expect.stringMatching(/cannot decrypt .* not the one/),
      });
      const before = await snapshot();
      await expect(wrong.add(salesforce({ name: 'other' }))).rejects.toMatchObject({ code: 'secret_key' });
      expect(await snapshot()).toEqual(before);
      // Listing needs no key: secrets are never decrypted for display.
      expect((await wrong.list()).map((a) => a.name)).toEqual(['sf']);
    });
  });
}

describe('secret key sources', () => {
  it('creates a key file with mode 0600 on first use and reuses it', () => {
    const file = path.join(mkdtempSync(path.join(os.tmpdir(), 'liaison-key-')), 'secret.key');
    const first = loadSecretKey({ keyFile: file, env: {} });
    expect(readFileSync(file, 'utf8').trim().length).toBeGreaterThan(40);
    expect((statSync(file).mode & 0o777).toString(8)).toBe('600');
    expect(loadSecretKey({ keyFile: file, env: {} }).key.equals(first.key)).toBe(true);
  });

  it('takes LIAISON_SECRET_KEY as hex or base64 and rejects a short key', () => {
    const hex = randomBytes(32).toString('hex');
    expect(loadSecretKey({ env: { LIAISON_SECRET_KEY: hex } }).key.toString('hex')).toBe(hex);
    expect(() => loadSecretKey({ env: { LIAISON_SECRET_KEY: 'short' } })).toThrow(/32-byte key/);
  });

  it('reports an unreadable key file and a key file holding no key', () => {
    const folder = mkdtempSync(path.join(os.tmpdir(), 'liaison-key-'));
    // A directory where the key file should be is unreadable as a file, even for root.
    expect(() => loadSecretKey({ keyFile: folder, env: {} })).toThrow(/cannot read the secret key file .*EISDIR/);
    const file = path.join(folder, 'secret.key');
    writeFileSync(file, 'not a key');
    expect(() => loadSecretKey({ keyFile: file, env: {} })).toThrow(/32-byte key/);
  });
});
