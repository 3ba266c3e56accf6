import { Command } from 'commander';
import { LiaisonError } from '../../core/errors.js';
import { describeChange, refusals } from '../../wizard/schema-drift.js';
import {
  applyWizard,
  COMMON_OBJECTS,
  hasDrift,
  listCrmObjects,
  planWizard,
  type WizardContext,
  type WizardPlan,
  type WizardProgress,
} from '../../wizard/wizard-service.js';
import { globalOptions, withAccounts } from '../cli-context.js';
import { printJson } from '../cli-output.js';

interface WizardOptions {
  objects?: string;
  fields?: string;
  yes?: boolean;
  dryRun?: boolean;
}

const list = (text: string | undefined): string[] | undefined =>
  text
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);

function interactive(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true;
}

function progress(event: WizardProgress): void {
  const text: Record<WizardProgress['step'], string> = {
    discovering: 'discovering fields',
    generating: 'generating the schema',
    creating: 'creating the table',
    migrating: 'migrating the table',
    unchanged: 'unchanged',
    gone: 'object gone from the CRM',
  };
  process.stderr.write(`liaison: ${event.object}: ${text[event.step]}\n`);
}

async function chooseObjects(ctx: WizardContext, account: string): Promise<string[]> {
  const { checkbox, input } = await import('@inquirer/prompts');
  const objects = await listCrmObjects(ctx, account);
  const filter = (await input({ message: `Filter the ${objects.length} objects (label or API name, blank for all):` }))
    .trim()
    .toLowerCase();
  const shown = objects.filter(
    (o) => !filter || o.name.toLowerCase().includes(filter) || o.label.toLowerCase().includes(filter),
  );
  if (shown.length === 0) throw new LiaisonError('object_not_found', `no object matches "${filter}"`);
  return checkbox({
    message: 'Objects to mirror (space to toggle, enter to confirm):',
    pageSize: 15,
    choices: shown.map((o) => ({
      name: `${o.label} (${o.name})`,
      value: o.name,
      checked: COMMON_OBJECTS.includes(o.name.toLowerCase()),
    })),
  });
}

function planView(plan: WizardPlan, dryRun: boolean, applied: boolean) {
  return {
    account: plan.account,
    crm: plan.crm,
    dryRun,
    applied,
    schemas: plan.plans.map((p) => ({
      name: p.schema.name,
      crmObject: p.schema.crmObject,
      table: p.schema.table,
      new: !p.existing,
      columns: p.schema.columns.length,
      changes: p.changes.map((c) => ({
        kind: c.kind,
        ...('column' in c ? { column: c.column.column, crmField: c.column.crmField } : {}),
        text: describeChange(c),
      })),
      skipped: p.skipped,
    })),
    gone: plan.gone.map((s) => ({ name: s.name, crmObject: s.crmObject, table: s.table })),
  };
}

function printPlan(plan: WizardPlan): void {
  for (const p of plan.plans) {
    const state = !p.existing ? 'new' : p.changes.length === 0 ? 'unchanged' : 'changed';
    process.stdout.write(
      `${p.schema.name}  ${p.schema.crmObject} → ${p.schema.table}  (${state}, ${p.schema.columns.length} columns)\n`,
    );
    for (const change of p.existing ? p.changes : []) process.stdout.write(`  ${describeChange(change)}\n`);
    for (const s of p.skipped) process.stdout.write(`  skipped field ${s.field} (${s.crmType}): ${s.reason}\n`);
  }
  for (const s of plan.gone)
    process.stdout.write(`${s.name}  ${s.crmObject} is gone from the CRM; table ${s.table} and its data are kept\n`);
}

export function wizardCommand(): Command {
  return new Command('wizard')
    .description('generate local tables (schemas) mirroring CRM objects, or migrate them when the CRM changed')
    .argument('<account>', 'external account name')
    .option('--objects <list>', 'comma-separated CRM object API names (e.g. Contact,Account,Lead,Opportunity)')
    .option('--fields <list>', 'comma-separated OBJECT.FIELD API names to keep (default: every readable field)')
    .option('--yes', 'apply changes to existing tables without asking')
    .option('--dry-run', 'show the plan and change nothing')
    .action(async (account: string, options: WizardOptions, command: Command) => {
      const json = globalOptions(command).json === true;
      await withAccounts(command, async (accounts, store) => {
        const ctx: WizardContext = { store, accounts };
        let objects = list(options.objects);
        if (!objects && interactive() && !options.yes) objects = await chooseObjects(ctx, account);
        const fields = list(options.fields);
        const plan = await planWizard(ctx, {
          account,
          ...(objects ? { objects } : {}),
          ...(fields ? { fields } : {}),
          onProgress: progress,
        });
        const refused = plan.plans.flatMap(refusals);
        if (!json || options.dryRun || refused.length > 0) {
          if (json) printJson(planView(plan, options.dryRun === true, false));
          else printPlan(plan);
        }
        if (options.dryRun) return;
        if (hasDrift(plan) && !options.yes) {
          if (!interactive()) {
            throw new LiaisonError(
              'invalid_input',
              'the CRM changed since the last run (see the plan above); re-run with --yes to apply it or --dry-run to only show it',
            );
          }
          const { confirm } = await import('@inquirer/prompts');
          if (!(await confirm({ message: 'Apply these changes to the local tables?', default: false }))) {
            process.stderr.write('liaison: nothing changed\n');
            return;
          }
        }
        await applyWizard(ctx, plan, progress);
        if (json) printJson(planView(plan, false, true));
        else
          process.stdout.write(
            `done: ${plan.plans.filter((p) => p.changes.length > 0).length} schema(s) created or migrated; see them with: liaison schema list\n`,
          );
      });
    });
}
