import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import type { AccountInput, AccountView } from '../../accounts/account-model.js';
import type { AccountChanges, AddAccountResult } from '../../accounts/accounts-service.js';
import { loadSecretKey } from '../../accounts/secret-box.js';
import { LiaisonError } from '../../core/errors.js';
import type { AuthSettings } from '../../crm/driver.js';
import { driverModule } from '../../crm/registry.js';
import { globalOptions, withAccounts } from '../cli-context.js';
import { printFields, printJson, printTable } from '../cli-output.js';

interface AddOptions {
  crm: string;
  url: string;
  auth?: string;
  clientId?: string;
  username?: string;
  tenant?: string;
  authorityUrl?: string;
  clientSecretEnv?: string;
  passwordEnv?: string;
  securityTokenEnv?: string;
  privateKeyFile?: string;
  certificateFile?: string;
  caFile?: string;
  apiVersion?: string;
}

export function accountCommands(): Command {
  const account = new Command('account').description('manage external accounts (one per CRM connection)');

  account
    .command('add')
    .description(
      'add an external account; secrets are read from environment variables, files or a prompt, never from argv',
    )
    .argument('<name>', 'account name (e.g. salesforce)')
    .requiredOption('--crm <type>', 'CRM type: salesforce | dynamics')
    .requiredOption('--url <url>', 'Salesforce login or My Domain URL, or the Dynamics org URL (https only)')
    .option(
      '--auth <mode>',
      'Salesforce: client-credentials | jwt | password; Dynamics: client-secret | certificate | password',
    )
    .option('--client-id <id>', 'OAuth client id (Salesforce consumer key, Entra application id)')
    .option('--username <user>', 'user name (JWT bearer and password flows)')
    .option('--tenant <tenant>', 'Entra ID tenant id or domain (Dynamics)')
    .option('--authority-url <url>', 'Entra ID token host (Dynamics), default https://login.microsoftonline.com')
    .option('--client-secret-env <var>', 'environment variable holding the client secret')
    .option('--password-env <var>', 'environment variable holding the password')
    .option('--security-token-env <var>', 'environment variable holding the Salesforce security token')
    .option('--private-key-file <path>', 'PEM private key (Salesforce JWT bearer, Dynamics certificate)')
    .option('--certificate-file <path>', 'PEM client certificate (Dynamics certificate auth)')
    .option('--ca-file <path>', 'PEM file of a private CA, added to the trusted roots')
    .option('--api-version <version>', 'API version (default: Salesforce 62.0, Dynamics 9.2)')
    .action(async (name: string, options: AddOptions, command: Command) => {
      const input = await accountInput(name, options);
      reportSaved(command, 'added', await withAccounts(command, (accounts) => accounts.add(input)));
    });

  account
    .command('update')
    .description(
      "change an account's URL, API version, auth mode, settings, secrets or CA file; what is not given is kept",
    )
    .argument('<name>')
    .option('--url <url>', 'Salesforce login or My Domain URL, or the Dynamics org URL (https only)')
    .option('--auth <mode>', 'a new auth mode (only the secrets it needs are kept)')
    .option('--client-id <id>', 'OAuth client id')
    .option('--username <user>', 'user name')
    .option('--tenant <tenant>', 'Entra ID tenant id or domain (Dynamics)')
    .option('--authority-url <url>', 'Entra ID token host (Dynamics)')
    .option('--client-secret-env <var>', 'environment variable holding the new client secret')
    .option('--password-env <var>', 'environment variable holding the new password')
    .option('--security-token-env <var>', 'environment variable holding the new Salesforce security token')
    .option('--private-key-file <path>', 'a new PEM private key')
    .option('--certificate-file <path>', 'a new PEM client certificate')
    .option('--ca-file <path>', 'a new PEM file of a private CA, added to the trusted roots')
    .option('--no-ca-file', 'trust the usual roots only (forget the private CA file)')
    .option('--api-version <version>', 'a new API version')
    .action(async (name: string, options: UpdateOptions, command: Command) => {
      const changes = accountChanges(options);
      if (Object.keys(changes).length === 0)
        throw new LiaisonError(
          'invalid_input',
          `nothing to change for "${name}"; give at least one option (see --help)`,
        );
      reportSaved(command, 'updated', await withAccounts(command, (accounts) => accounts.update(name, changes)));
    });

  account
    .command('rekey')
    .description(
      'encrypt every account secret with a new secret key (all or none); then point LIAISON_SECRET_KEY_FILE at it',
    )
    .requiredOption('--new-key-file <path>', 'file holding the new key (created with mode 0600 when absent)')
    .action(async (options: { newKeyFile: string }, command: Command) => {
      const file = path.resolve(options.newKeyFile);
      const created = !existsSync(file);
      // The new key is on disk before any secret depends on it; a key file made here goes again if nothing moved.
      const newKey = loadSecretKey({ keyFile: file, env: {} });
      const result = await withAccounts(command, (accounts) => accounts.rekey(newKey)).catch((error: unknown) => {
        if (created) rmSync(file, { force: true });
        throw error;
      });
      if (globalOptions(command).json) return printJson({ ...result, keyFile: file, created });
      process.stdout.write(
        `re-encrypted the secrets of ${result.accounts} account(s) with the key in ${file}${created ? ' (new, mode 0600)' : ''}; ` +
          `from now on use it (LIAISON_SECRET_KEY_FILE=${file}) and keep the old key until you have switched\n`,
      );
    });

  account
    .command('list')
    .description('list external accounts')
    .action(async (_options: object, command: Command) => {
      const views = await withAccounts(command, (accounts) => accounts.list());
      if (globalOptions(command).json) return printJson(views);
      if (views.length === 0)
        return void process.stdout.write(
          'no external accounts; add one with: liaison account add NAME --crm … --url https://…\n',
        );
      printTable(
        ['NAME', 'CRM', 'AUTH', 'API', 'URL'],
        views.map((v) => [v.name, v.crm, v.auth, v.apiVersion, v.url]),
      );
    });

  account
    .command('show')
    .description('show an external account (secrets are never shown)')
    .argument('<name>')
    .action(async (name: string, _options: object, command: Command) => {
      const view = await withAccounts(command, (accounts) => accounts.show(name));
      if (globalOptions(command).json) return printJson(view);
      printView(view);
    });

  account
    .command('test')
    .description('connect, get a token and make one authenticated call')
    .argument('<name>')
    .action(async (name: string, _options: object, command: Command) => {
      const result = await withAccounts(command, (accounts) => accounts.test(name));
      if (globalOptions(command).json) return printJson({ name, ...result });
      process.stdout.write(
        `ok: "${name}" connected as ${result.identity} to ${result.instanceUrl} (API ${result.apiVersion}; ${result.apiCalls} API calls)\n`,
      );
    });

  account
    .command('remove')
    .description('remove an external account')
    .argument('<name>')
    .action(async (name: string, _options: object, command: Command) => {
      await withAccounts(command, (accounts) => accounts.remove(name));
      if (globalOptions(command).json) printJson({ removed: name });
      else process.stdout.write(`removed external account "${name}"\n`);
    });

  return account;
}

/** What `add` and `update` print: the advice on stderr, the account (JSON) or one line saying what to do next. */
function reportSaved(command: Command, verb: 'added' | 'updated', result: AddAccountResult): void {
  for (const warning of result.warnings) process.stderr.write(`liaison: warning: ${warning}\n`);
  const { name, crm, auth } = result.account;
  if (globalOptions(command).json) printJson({ ...result.account, warnings: result.warnings });
  else
    process.stdout.write(
      `${verb} external account "${name}" (${crm}, ${auth}); check it with: liaison account test ${name}\n`,
    );
}

function printView(view: AccountView): void {
  printFields([
    ['name', view.name],
    ['crm', view.crm],
    ['url', view.url],
    ['api version', view.apiVersion],
    ['auth', view.auth],
    ['client id', view.clientId],
    ['username', view.username],
    ['tenant', view.tenant],
    ['authority url', view.authorityUrl],
    ['certificate', view.certificate],
    ['ca file', view.caFile],
    [
      'secrets',
      Object.keys(view.secrets)
        .map((k) => `${k} (set, encrypted)`)
        .join(', ') || 'none',
    ],
    ['created', view.createdAt],
    ['updated', view.updatedAt],
  ]);
}

const SECRET_SOURCES: { key: keyof AuthSettings; env: keyof AddOptions; flag: string; prompt: string }[] = [
  { key: 'clientSecret', env: 'clientSecretEnv', flag: '--client-secret-env', prompt: 'Client secret' },
  { key: 'password', env: 'passwordEnv', flag: '--password-env', prompt: 'Password' },
  { key: 'securityToken', env: 'securityTokenEnv', flag: '--security-token-env', prompt: 'Security token' },
];

/** Secrets named by the --*-env options, read from the environment (an unset or empty variable is an error). */
function secretsFromEnv(options: Partial<AddOptions>): Record<string, string> {
  const secrets: Record<string, string> = {};
  for (const source of SECRET_SOURCES) {
    const variable = options[source.env];
    if (!variable) continue;
    const value = process.env[variable];
    if (value === undefined || value === '') {
      throw new LiaisonError(
        'invalid_input',
        `environment variable ${variable} (named by ${source.flag}) is not set or empty`,
      );
    }
    secrets[source.key] = value;
  }
  return secrets;
}

/** `update` takes the add options, all optional, and `--no-ca-file` (commander's `caFile: false`). */
type UpdateOptions = Partial<Omit<AddOptions, 'caFile'>> & { caFile?: string | false };

/** The changes an `account update` asks for: only the options given. */
function accountChanges(options: UpdateOptions): AccountChanges {
  const { caFile, ...rest } = options;
  const secrets = secretsFromEnv(rest);
  const changes: AccountChanges = {
    url: options.url,
    auth: options.auth,
    ...settingOptions(rest),
    ...(caFile === false ? { caFile: null } : caFile ? { caFile } : {}),
    ...(Object.keys(secrets).length > 0 ? { secrets } : {}),
  };
  return Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined)) as AccountChanges;
}

/** The options `add` and `update` share, as the service names them. */
function settingOptions(options: Partial<AddOptions>) {
  return {
    apiVersion: options.apiVersion,
    clientId: options.clientId,
    username: options.username,
    tenant: options.tenant,
    authorityUrl: options.authorityUrl,
    caFile: options.caFile,
    privateKeyFile: options.privateKeyFile,
    certificateFile: options.certificateFile,
  };
}

/** Builds the service input: secrets from the named environment variables, or a prompt on a terminal. */
async function accountInput(name: string, options: AddOptions): Promise<AccountInput> {
  const module = driverModule(options.crm);
  const auth = options.auth ?? Object.keys(module.authModes)[0]!;
  const required = module.authModes[auth]?.required ?? [];
  const secrets = secretsFromEnv(options);
  for (const source of SECRET_SOURCES) {
    if (!options[source.env] && required.includes(source.key) && process.stdin.isTTY && process.stdout.isTTY) {
      const { password } = await import('@inquirer/prompts');
      secrets[source.key] = await password({ message: `${source.prompt} for "${name}":`, mask: '*' });
    }
  }
  return {
    name,
    crm: options.crm,
    url: options.url,
    auth,
    ...settingOptions(options),
    secrets,
  };
}
