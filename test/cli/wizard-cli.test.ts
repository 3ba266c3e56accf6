import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSalesforceSandbox, type SalesforceSandbox } from '../../src/sandbox/salesforce/index.js';
import type { LocalSchema } from '../../src/wizard/schema-types.js';
import { runCli } from '../support/cli.js';

/** The wizard, schema and enums commands as a user runs them: separate processes, no TTY, against the sandbox. */
describe('liaison wizard / schema / enums (CLI)', () => {
  let sandbox: SalesforceSandbox;
  let env: NodeJS.ProcessEnv;
  let cwd: string;
  const cli = (...args: string[]) => runCli(args, { env, cwd });

  beforeAll(async () => {
    sandbox = await startSalesforceSandbox({ port: 0, host: '127.0.0.1', records: 20, seed: 11 });
    cwd = mkdtempSync(path.join(os.tmpdir(), 'liaison-wizard-cli-'));
    const creds = sandbox.credentials['client-credentials']!;
    env = {
      LIAISON_DB: `sqlite:${path.join(cwd, 'liaison.db')}`,
      LIAISON_SECRET_KEY_FILE: path.join(cwd, 'secret.key'),
      SF_SECRET: creds.clientSecret,
    };
    const added = await cli(
      'account',
      'add',
      'sf',
      '--crm',
      'salesforce',
      '--url',
      sandbox.url,
      '--auth',
      'client-credentials',
      '--client-id',
      creds.clientId!,
      '--client-secret-env',
      'SF_SECRET',
      '--ca-file',
      sandbox.caFile,
    );
    expect(added.code).toBe(0);
  });
  afterAll(async () => {
    await sandbox?.stop();
  });

  it('generates schemas, shows them, syncs enumerations and migrates drift only when confirmed', async () => {
    const wizard = await cli('wizard', 'sf', '--objects', 'contact,Account,Loyalty_Card__c', '--yes');
    expect(wizard.stderr).toContain('liaison: Contact: discovering fields');
    expect(wizard.stderr).toContain('liaison: Contact: creating the table');
    expect(wizard.code).toBe(0);
    expect(wizard.stdout).toMatch(/crm:sfdcContact\s+Contact → crm_sfdc_contact\s+\(new, \d+ columns\)/);

    const list = JSON.parse((await cli('--json', 'schema', 'list')).stdout) as LocalSchema[];
    expect(list.map((s) => s.name)).toEqual(['crm:sfdcAccount', 'crm:sfdcContact', 'crm:sfdcLoyalty_Card__c']);
    const human = await cli('schema', 'list');
    expect(human.stdout).toMatch(/^NAME\s+ACCOUNT\s+CRM OBJECT\s+TABLE/);

    const show = JSON.parse((await cli('--json', 'schema', 'show', 'crm:sfdcLoyalty_Card__c')).stdout) as LocalSchema;
    expect(show).toMatchObject({
      crmObject: 'Loyalty_Card__c',
      table: 'crm_sfdc_loyalty_card__c',
      crmIdColumn: 'crm_id',
      cursorColumn: 'systemmodstamp',
    });
    expect(show.columns.find((c) => c.crmField === 'Contact__c')?.link).toEqual({
      schema: 'crm:sfdcContact',
      table: 'crm_sfdc_contact',
    });
    const showHuman = await cli('schema', 'show', 'crm:sfdcContact');
    expect(showHuman.stdout).toMatch(
      /interests__c\s+Interests__c\s+multipicklist \(JSON array\)\s+text\s+yes\s+contact_interests__c/,
    );

    const sync = await cli('enums', 'sync', 'sf', '--all');
    expect(sync.code).toBe(0);
    expect(sync.stdout).toMatch(/contact_interests__c\s+Contact\.Interests__c\s+multi\s+new\s+6/);
    const enumShow = await cli('enums', 'show', 'contact_leadsource');
    expect(enumShow.stdout).toMatch(/VALUE\s+LABEL\s+ENABLED\s+SOURCE/);
    expect(enumShow.stdout).toMatch(/Phone Inquiry\s+Phone Inquiry\s+yes\s+crm/);
    const enumJson = JSON.parse((await cli('--json', 'enums', 'show', 'contact_interests__c')).stdout) as {
      multi: boolean;
      values: unknown[];
    };
    expect(enumJson.multi).toBe(true);

    // Drift: a new CRM field. Dry run shows it; without --yes and without a terminal nothing changes.
    sandbox.admin.addField('Contact', { name: 'Nickname__c', type: 'string', length: 30 });
    const dry = await cli('wizard', 'sf', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('add column nickname__c (Nickname__c, varchar(30))');
    const refused = await cli('wizard', 'sf');
    expect(refused.code).not.toBe(0);
    expect(refused.stderr.trim().split('\n').at(-1)).toMatch(/^liaison: the CRM changed .*--yes/);
    let contact = JSON.parse((await cli('--json', 'schema', 'show', 'crm:sfdcContact')).stdout) as LocalSchema;
    expect(contact.columns.some((c) => c.crmField === 'Nickname__c')).toBe(false);
    expect((await cli('wizard', 'sf', '--yes')).code).toBe(0);
    contact = JSON.parse((await cli('--json', 'schema', 'show', 'crm:sfdcContact')).stdout) as LocalSchema;
    expect(contact.columns.find((c) => c.crmField === 'Nickname__c')?.sqlType).toBe('varchar(30)');
    // Fifteen CLI processes; through tsx (no build) on a busy machine that takes a while.
  }, 240_000);

  it('reports bad input in one line with a non-zero exit code', async () => {
    const unknown = await cli('wizard', 'sf', '--objects', 'Widget__c', '--yes');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr.trim().split('\n').at(-1)).toBe(
      'liaison: the salesforce account "sf" has no object "Widget__c"; object names are API names (e.g. Contact, Loyalty_Card__c, lia_loyaltycard)',
    );
    const noAccount = await cli('wizard', 'nope', '--objects', 'Contact');
    expect(noAccount.code).not.toBe(0);
    expect(noAccount.stderr).toMatch(/nope/);
    const noSchema = await cli('schema', 'show', 'crm:nothing');
    expect(noSchema.stderr.trim()).toBe(
      `liaison: no schema named "crm:nothing"; see 'liaison schema list' or create one with 'liaison wizard ACCOUNT'`,
    );
    const badMap = await cli('enums', 'sync', 'sf', '--map', 'Contact.Email=emails');
    expect(badMap.code).not.toBe(0);
    expect(badMap.stderr).toContain('not a picklist');
  }, 120_000);
});
