import { Command } from 'commander';
import { LiaisonError } from '../../core/errors.js';
import { dropOrphans } from '../../wizard/schema-maintenance.js';
import { getSchema, listSchemas } from '../../wizard/schema-registry.js';
import type { LocalColumn } from '../../wizard/schema-types.js';
import { globalOptions, withStore } from '../cli-context.js';
import { printFields, printJson, printTable } from '../cli-output.js';

function typeText(column: LocalColumn): string {
  return column.multiSelect ? `${column.type} (JSON array)` : column.type;
}

function note(column: LocalColumn): string {
  const parts: string[] = [];
  if (column.orphan) parts.push('ORPHAN: gone from the CRM');
  if (column.link) parts.push(`→ ${column.link.schema}`);
  if (column.targetColumn) parts.push(`target object in ${column.targetColumn}`);
  if (column.compound) parts.push(`part of ${column.compound}`);
  return parts.join('; ');
}

export function schemaCommands(): Command {
  const schema = new Command('schema').description('generated schemas: local tables mirroring CRM objects');

  schema
    .command('list')
    .description('list generated schemas')
    .action(async (_options: object, command: Command) => {
      const schemas = await withStore(command, (store) => listSchemas(store));
      if (globalOptions(command).json) return printJson(schemas);
      if (schemas.length === 0)
        return void process.stdout.write('no schemas; generate some with: liaison wizard ACCOUNT\n');
      printTable(
        ['NAME', 'ACCOUNT', 'CRM OBJECT', 'TABLE', 'COLUMNS', 'ORPHANS', 'UPDATED'],
        schemas.map((s) => [
          s.name,
          s.account,
          s.crmObject,
          s.table,
          s.columns.filter((c) => !c.orphan).length,
          s.columns.filter((c) => c.orphan).length,
          s.updatedAt,
        ]),
      );
    });

  schema
    .command('show')
    .description('show a schema: fields, types, keys, links, enumerations and source CRM object')
    .argument('<name>', 'schema name (e.g. crm:sfdcContact)')
    .action(async (name: string, _options: object, command: Command) => {
      const s = await withStore(command, (store) => getSchema(store, name));
      if (globalOptions(command).json) return printJson(s);
      printFields([
        ['Name', s.name],
        ['Account', `${s.account} (${s.crm})`],
        ['CRM object', s.crmObject],
        ['Table', s.table],
        ['Primary key', s.idColumn],
        ['CRM id', `${s.crmIdColumn} (unique)`],
        ['Cursor', s.cursorColumn],
        ['Fields', s.selectedFields ? s.selectedFields.join(', ') : 'all readable fields'],
        ['Updated', s.updatedAt],
      ]);
      process.stdout.write('\n');
      printTable(
        ['COLUMN', 'CRM FIELD', 'TYPE', 'SQL TYPE', 'NULL', 'KEY', 'ENUMERATION', 'NOTE'],
        s.columns.map((c) => [
          c.column,
          c.crmField,
          typeText(c),
          c.sqlType,
          c.nullable ? 'yes' : 'no',
          c.column === s.crmIdColumn ? 'crm id' : c.column === s.cursorColumn ? 'cursor' : '',
          c.enumeration,
          note(c),
        ]),
      );
      if (s.skipped.length > 0) {
        process.stdout.write('\nskipped fields (Liaison cannot map their type):\n');
        printTable(
          ['CRM FIELD', 'CRM TYPE', 'REASON'],
          s.skipped.map((k) => [k.field, k.crmType, k.reason]),
        );
      }
    });

  schema
    .command('drop-orphans')
    .description('drop the columns (and their data) of fields that are gone from the CRM')
    .argument('<name>', 'schema name')
    .option('--yes', 'confirm dropping the columns and their data')
    .action(async (name: string, options: { yes?: boolean }, command: Command) => {
      const json = globalOptions(command).json;
      await withStore(command, async (store) => {
        const orphans = (await getSchema(store, name)).columns.filter((c) => c.orphan);
        if (orphans.length > 0 && !options.yes) {
          throw new LiaisonError(
            'invalid_input',
            `this drops ${orphans.map((c) => c.column).join(', ')} and their data from ${name}; re-run with --yes to confirm`,
          );
        }
        const dropped = await dropOrphans(store, name);
        if (json) return printJson({ schema: name, dropped: dropped.map((c) => c.column) });
        process.stdout.write(
          dropped.length === 0
            ? `${name} has no orphan columns\n`
            : `dropped ${dropped.map((c) => c.column).join(', ')} from ${name}\n`,
        );
      });
    });
  return schema;
}
