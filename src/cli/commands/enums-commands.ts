import { Command } from 'commander';
import { getEnumeration, listEnumerations } from '../../enumerations/enum-store.js';
import { listPicklists, syncEnumerations } from '../../enumerations/enum-sync.js';
import type { WizardContext } from '../../wizard/wizard-service.js';
import { globalOptions, withAccounts, withStore } from '../cli-context.js';
import { printFields, printJson, printTable } from '../cli-output.js';

interface SyncOptions {
  map: string[];
  all?: boolean;
  replace?: boolean;
  dryRun?: boolean;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** Terminal only: pick the picklists to sync; each keeps its current (or default) enumeration name. */
async function choosePicklists(ctx: WizardContext, account: string): Promise<string[]> {
  const choices = await listPicklists(ctx, account);
  if (choices.length === 0) return [];
  const { checkbox } = await import('@inquirer/prompts');
  const chosen = await checkbox({
    message: 'Picklists to sync (space to toggle, enter to confirm):',
    pageSize: 15,
    choices: choices.map((c) => ({
      name: `${c.crmObject}.${c.field}${c.multi ? ' (multi-select)' : ''} → ${c.enumeration}`,
      value: `${c.crmObject}.${c.field}=${c.enumeration}`,
      checked: true,
    })),
  });
  return chosen;
}

export function enumsCommands(): Command {
  const enums = new Command('enums').description('local enumerations paired with CRM picklists');

  enums
    .command('sync')
    .description("pair the picklists of an account's schemas with local enumerations and sync their values")
    .argument('<account>', 'external account name')
    .option('--map <pair>', 'CRM_OBJECT.FIELD=LOCAL_ENUM (repeatable)', collect, [])
    .option('--all', 'pair every picklist of the account’s schemas (default enumeration names: object_field)')
    .option('--replace', 'make each enumeration exactly the CRM values (default: merge, keeping local values)')
    .option('--dry-run', 'show what would change and change nothing')
    .action(async (account: string, options: SyncOptions, command: Command) => {
      const items = await withAccounts(command, async (accounts, store) => {
        const ctx: WizardContext = { store, accounts };
        let maps = options.map;
        if (maps.length === 0 && !options.all && process.stdin.isTTY && process.stdout.isTTY)
          maps = await choosePicklists(ctx, account);
        return syncEnumerations(ctx, {
          account,
          maps,
          all: options.all === true,
          replace: options.replace === true,
          dryRun: options.dryRun === true,
        });
      });
      if (globalOptions(command).json) return printJson({ dryRun: options.dryRun === true, items });
      printTable(
        ['ENUMERATION', 'CRM FIELD', 'KIND', 'STATE', 'ADDED', 'UPDATED', 'REMOVED', 'DISABLED'],
        items.map((i) => [
          i.enumeration,
          `${i.crmObject}.${i.field}`,
          i.multi ? 'multi' : 'single',
          i.created ? 'new' : 'existing',
          i.added.length,
          i.updated.length,
          i.removed.length,
          i.disabled.length,
        ]),
      );
      if (options.dryRun) process.stdout.write('dry run: nothing changed\n');
    });

  enums
    .command('list')
    .description('list local enumerations')
    .action(async (_options: object, command: Command) => {
      const all = await withStore(command, (store) => listEnumerations(store.db));
      if (globalOptions(command).json) return printJson(all);
      if (all.length === 0)
        return void process.stdout.write('no enumerations; sync some with: liaison enums sync ACCOUNT --all\n');
      printTable(
        ['NAME', 'KIND', 'VALUES', 'DISABLED', 'SOURCE', 'UPDATED'],
        all.map((e) => [
          e.name,
          e.multi ? 'multi' : 'single',
          e.values.length,
          e.values.filter((v) => !v.enabled).length,
          e.source,
          e.updatedAt,
        ]),
      );
    });

  enums
    .command('show')
    .description('show an enumeration: value, label, enabled, source')
    .argument('<name>')
    .action(async (name: string, _options: object, command: Command) => {
      const e = await withStore(command, (store) => getEnumeration(store.db, name));
      if (globalOptions(command).json) return printJson(e);
      printFields([
        ['Name', e.name],
        ['Kind', e.multi ? 'multi-select' : 'single value'],
        ['Values', e.valueType === 'code' ? 'option codes with labels' : 'text'],
        ['Source', e.source],
        ['Controller', e.controller],
        ['Updated', e.updatedAt],
      ]);
      process.stdout.write('\n');
      printTable(
        ['VALUE', 'LABEL', 'ENABLED', 'SOURCE', ...(e.controller ? ['VALID FOR'] : [])],
        e.values.map((v) => [
          v.value,
          v.label,
          v.enabled ? 'yes' : 'no',
          v.source,
          ...(e.controller ? [(v.validFor ?? []).join(', ')] : []),
        ]),
      );
    });
  return enums;
}
