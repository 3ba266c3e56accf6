import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LiaisonError } from '../core/errors.js';
import type { AuthSettings, ConnectionSettings, ConnectionTestResult, CrmKind } from '../crm/driver.js';
import { readCaFile, requireHttpsUrl } from '../crm/http/tls.js';
import { driverModule } from '../crm/registry.js';
import type { Selectable, Transaction } from 'kysely';
import type { ExternalAccountTable, LiaisonDatabase, Store } from '../store/store-types.js';
import {
  accountInputSchema,
  SECRET_NAMES,
  type AccountInput,
  type AccountSecrets,
  type AccountSettings,
  type AccountView,
} from './account-model.js';
import { decryptSecret, encryptSecret, keyCheck, loadSecretKey, type SecretKey } from './secret-box.js';

const KEY_CHECK = 'secret_key_check';

export interface AddAccountResult {
  account: AccountView;
  /** Advice to show the user (e.g. a retiring auth flow); never a reason to refuse. */
  warnings: string[];
}

/**
 * External accounts: one per CRM connection. Everything is validated before anything is written; the account and
 * the key fingerprint are written in one transaction.
 */
export class AccountsService {
  constructor(
    private readonly store: Store,
    private readonly secretKey: () => SecretKey = () => loadSecretKey(),
  ) {}

  async add(rawInput: AccountInput): Promise<AddAccountResult> {
    const account = prepareAccount(rawInput);
    const key = this.secretKey();
    const now = new Date().toISOString();
    await this.store.db.transaction().execute(async (trx) => {
      const stored = await this.checkKey(trx, key);
      const existing = await trx
        .selectFrom('external_account')
        .select('id')
        .where('name', '=', account.name)
        .executeTakeFirst();
      if (existing) {
        throw new LiaisonError(
          'account_exists',
          `an external account named "${account.name}" already exists; choose another name or remove it first`,
        );
      }
      if (!stored)
        await trx
          .insertInto('liaison_meta')
          .values({ key: KEY_CHECK, value: keyCheck(key) })
          .execute();
      await trx
        .insertInto('external_account')
        .values({ name: account.name, ...accountColumns(account, key), created_at: now, updated_at: now })
        .execute();
    });
    return { account: await this.show(account.name), warnings: account.warnings };
  }

  /**
   * Changes an account's URL, API version, auth mode, settings, secrets or CA file; what `changes` leaves out keeps
   * its stored value. The result is checked as a new account would be, then written in one transaction. When the
   * auth mode changes, only the secrets the new mode needs are kept (given now or stored before).
   */
  async update(name: string, changes: AccountChanges): Promise<AddAccountResult> {
    const row = await this.row(name);
    const key = this.secretKey();
    const { secretsSet: _names, ...settings } = JSON.parse(row.settings_json) as AccountSettings & {
      secretsSet?: string[];
    };
    const storedSecrets = JSON.parse(decryptSecret(key, row.secrets_enc, accountContext(name))) as AccountSecrets;
    const auth = changes.auth ?? row.auth_mode;
    const needed = new Set<string>(driverModule(row.crm).authModes[auth]?.required ?? []);
    const kept = (secretName: keyof AccountSecrets): boolean => auth === row.auth_mode || needed.has(secretName);
    const carried = Object.fromEntries(
      Object.entries(storedSecrets).filter(([secretName]) => kept(secretName as keyof AccountSecrets)),
    ) as AccountSecrets;
    const { privateKey, ...plainSecrets } = carried;
    const account = prepareAccount(
      {
        name,
        crm: row.crm,
        url: changes.url ?? row.url,
        auth,
        apiVersion: changes.apiVersion ?? row.api_version,
        clientId: changes.clientId ?? settings.clientId,
        username: changes.username ?? settings.username,
        tenant: changes.tenant ?? settings.tenant,
        authorityUrl: changes.authorityUrl ?? settings.authorityUrl,
        caFile: changes.caFile === null ? undefined : (changes.caFile ?? row.ca_file ?? undefined),
        privateKeyFile: changes.privateKeyFile,
        certificateFile: changes.certificateFile,
        secrets: { ...plainSecrets, ...changes.secrets },
      },
      { privateKey, certificate: settings.certificate },
    );
    await this.store.db.transaction().execute(async (trx) => {
      await this.checkKey(trx, key);
      await trx
        .updateTable('external_account')
        .set({ ...accountColumns(account, key), updated_at: new Date().toISOString() })
        .where('name', '=', name)
        .execute();
    });
    return { account: await this.show(name), warnings: account.warnings };
  }

  /**
   * Re-encrypts every account's secrets with `newKey`, in one transaction: all of them or none. The current key
   * must be the one they were encrypted with. Afterwards only `newKey` opens them.
   */
  async rekey(newKey: SecretKey): Promise<{ accounts: number }> {
    const key = this.secretKey();
    if (keyCheck(newKey) === keyCheck(key)) {
      throw new LiaisonError(
        'invalid_input',
        `the new key (${newKey.source}) is the current one (${key.source}); give another key`,
      );
    }
    let count = 0;
    await this.store.db.transaction().execute(async (trx) => {
      const stored = await this.checkKey(trx, key);
      const rows = await trx.selectFrom('external_account').select(['name', 'secrets_enc']).execute();
      for (const row of rows) {
        const context = accountContext(row.name);
        const secrets = decryptSecret(key, row.secrets_enc, context);
        await trx
          .updateTable('external_account')
          .set({ secrets_enc: encryptSecret(newKey, secrets, context) })
          .where('name', '=', row.name)
          .execute();
      }
      if (stored) {
        await trx
          .updateTable('liaison_meta')
          .set({ value: keyCheck(newKey) })
          .where('key', '=', KEY_CHECK)
          .execute();
      } else {
        await trx
          .insertInto('liaison_meta')
          .values({ key: KEY_CHECK, value: keyCheck(newKey) })
          .execute();
      }
      count = rows.length;
    });
    return { accounts: count };
  }

  /** The stored key fingerprint, after checking that `key` is the one the accounts were encrypted with. */
  private async checkKey(trx: Transaction<LiaisonDatabase>, key: SecretKey): Promise<string | undefined> {
    const stored = await trx.selectFrom('liaison_meta').select('value').where('key', '=', KEY_CHECK).executeTakeFirst();
    if (stored && stored.value !== keyCheck(key)) {
      throw new LiaisonError(
        'secret_key',
        `the secret key (${key.source}) is not the one this store's accounts were encrypted with; restore that key`,
      );
    }
    return stored?.value;
  }

  async list(): Promise<AccountView[]> {
    const rows = await this.store.db.selectFrom('external_account').selectAll().orderBy('name').execute();
    return rows.map(toView);
  }

  async show(name: string): Promise<AccountView> {
    return toView(await this.row(name));
  }

  async remove(name: string): Promise<void> {
    const result = await this.store.db.deleteFrom('external_account').where('name', '=', name).executeTakeFirst();
    if (Number(result.numDeletedRows) === 0) throw notFound(name);
  }

  /** Decrypted settings for a driver. Keep the result in memory only. */
  async connectionSettings(name: string): Promise<ConnectionSettings> {
    const row = await this.row(name);
    const { secretsSet: _names, ...settings } = JSON.parse(row.settings_json) as AccountSettings & {
      secretsSet?: string[];
    };
    const secrets = JSON.parse(
      decryptSecret(this.secretKey(), row.secrets_enc, accountContext(name)),
    ) as AccountSecrets;
    return {
      kind: row.crm as CrmKind,
      url: row.url,
      apiVersion: row.api_version,
      auth: { mode: row.auth_mode, ...settings, ...secrets },
      ...(row.ca_file ? { caFile: row.ca_file } : {}),
    };
  }

  /** Connects, gets a token and makes one authenticated call. Throws a LiaisonError naming the exact reason. */
  async test(name: string): Promise<ConnectionTestResult> {
    const settings = await this.connectionSettings(name);
    const driver = driverModule(settings.kind).createDriver(settings);
    try {
      return await driver.testConnection();
    } finally {
      await driver.close();
    }
  }

  private async row(name: string) {
    const row = await this.store.db
      .selectFrom('external_account')
      .selectAll()
      .where('name', '=', name)
      .executeTakeFirst();
    if (!row) throw notFound(name);
    return row;
  }
}

/** What `update` may change; anything left out keeps its stored value. */
export type AccountChanges = Partial<Omit<AccountInput, 'name' | 'crm' | 'secrets' | 'caFile'>> & {
  secrets?: AccountInput['secrets'];
  /** A new CA file, or null to trust Node's roots (and NODE_EXTRA_CA_CERTS) only. */
  caFile?: string | null;
};

/** An account checked and ready to store: everything validated before anything is written. */
interface PreparedAccount {
  name: string;
  crm: CrmKind;
  url: string;
  auth: string;
  apiVersion: string;
  settings: AccountSettings;
  secrets: AccountSecrets;
  caFile: string | null;
  warnings: string[];
}

/**
 * Validates an account's input (URL, auth mode and what it needs, files) and reads its key and certificate files.
 * `stored` supplies the private key and certificate an update keeps when no new file is given.
 */
function prepareAccount(
  rawInput: AccountInput,
  stored: { privateKey?: string; certificate?: string } = {},
): PreparedAccount {
  const parsed = accountInputSchema.safeParse(rawInput);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new LiaisonError('invalid_input', `account ${issue.path.join('.') || 'input'} ${issue.message}`);
  }
  const input = parsed.data;
  const module = driverModule(input.crm);
  requireHttpsUrl(input.url, `${module.label} URL`);
  const mode = module.authModes[input.auth];
  if (!mode) {
    throw new LiaisonError(
      'invalid_input',
      `--auth ${input.auth} is not a ${module.label} auth mode: use ${Object.keys(module.authModes).join(', ')}`,
    );
  }
  if (input.authorityUrl) requireHttpsUrl(input.authorityUrl, 'authority URL');
  if (input.caFile) readCaFile(input.caFile);

  const secrets: AccountSecrets = { ...input.secrets };
  const settings: AccountSettings = {
    clientId: input.clientId,
    username: input.username,
    tenant: input.tenant,
    authorityUrl: input.authorityUrl,
  };
  if (input.privateKeyFile) secrets.privateKey = readPem(input.privateKeyFile, 'private key');
  else if (stored.privateKey) secrets.privateKey = stored.privateKey;
  if (input.certificateFile) settings.certificate = readPem(input.certificateFile, 'certificate');
  else if (stored.certificate) settings.certificate = stored.certificate;

  const auth: AuthSettings = { mode: input.auth, ...settings, ...secrets };
  const missing = mode.required.filter((key) => !auth[key]);
  if (missing.length > 0) {
    throw new LiaisonError('invalid_input', `--auth ${input.auth} needs ${missing.map(flagFor).join(', ')}`);
  }
  for (const tokenUrl of module.tokenUrls({ url: input.url, auth })) requireHttpsUrl(tokenUrl, 'token URL');
  return {
    name: input.name,
    crm: module.kind,
    url: input.url,
    auth: input.auth,
    apiVersion: (input.apiVersion ?? module.defaultApiVersion).replace(/^v/, ''),
    settings,
    secrets,
    caFile: input.caFile ? path.resolve(input.caFile) : null,
    warnings: mode.warning ? [mode.warning] : [],
  };
}

/** The stored columns of an account: settings in clear (with the names of the secrets set), secrets encrypted. */
function accountColumns(account: PreparedAccount, key: SecretKey) {
  return {
    crm: account.crm,
    url: account.url,
    api_version: account.apiVersion,
    auth_mode: account.auth,
    settings_json: JSON.stringify({
      ...dropUndefined(account.settings),
      secretsSet: Object.keys(dropUndefined(account.secrets)),
    }),
    secrets_enc: encryptSecret(key, JSON.stringify(dropUndefined(account.secrets)), accountContext(account.name)),
    ca_file: account.caFile,
  };
}

function notFound(name: string): LiaisonError {
  return new LiaisonError('account_not_found', `no external account named "${name}"; see 'liaison account list'`);
}

/** Associated data binding a ciphertext to its account. */
function accountContext(name: string): string {
  return `external account "${name}"`;
}

function toView(row: Selectable<ExternalAccountTable>): AccountView {
  const settings = JSON.parse(row.settings_json) as AccountSettings & { secretsSet?: string[] };
  const secretsSet = new Set(settings.secretsSet ?? []);
  return {
    name: row.name,
    crm: row.crm as CrmKind,
    url: row.url,
    apiVersion: row.api_version,
    auth: row.auth_mode,
    ...(settings.clientId ? { clientId: settings.clientId } : {}),
    ...(settings.username ? { username: settings.username } : {}),
    ...(settings.tenant ? { tenant: settings.tenant } : {}),
    ...(settings.authorityUrl ? { authorityUrl: settings.authorityUrl } : {}),
    ...(settings.certificate ? { certificate: 'set' as const } : {}),
    ...(row.ca_file ? { caFile: row.ca_file } : {}),
    // Which secrets are set is not secret; their values never leave the store decrypted except to a driver.
    secrets: Object.fromEntries(
      SECRET_NAMES.filter((n) => secretsSet.has(n)).map((n) => [n, 'set']),
    ) as AccountView['secrets'],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

function readPem(file: string, what: 'private key' | 'certificate'): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new LiaisonError(
      'invalid_input',
      `cannot read the ${what} file ${file} (${(error as NodeJS.ErrnoException).code}); check the path and permissions`,
    );
  }
  try {
    if (what === 'private key') createPrivateKey(text);
    else new X509Certificate(text);
  } catch {
    throw new LiaisonError('invalid_input', `${file} does not hold a PEM ${what}; pass a PEM file`);
  }
  return text;
}

const FLAGS: Partial<Record<keyof AuthSettings, string>> = {
  clientId: '--client-id',
  clientSecret: '--client-secret-env VAR',
  username: '--username',
  password: '--password-env VAR',
  securityToken: '--security-token-env VAR',
  privateKey: '--private-key-file PATH',
  certificate: '--certificate-file PATH',
  tenant: '--tenant',
};

function flagFor(key: keyof AuthSettings): string {
  return FLAGS[key] ?? key;
}

function dropUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
