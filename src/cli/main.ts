#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { errorMessage, isLiaisonError } from '../core/errors.js';
import { enableCollectionBetweenBatches } from '../core/memory.js';
import { redactText } from '../core/redact.js';
import { accountCommands } from './commands/account-commands.js';
import { demoCommand } from './commands/demo-command.js';
import { sandboxCommands } from './commands/sandbox-commands.js';
import { enumsCommands } from './commands/enums-commands.js';
import { schemaCommands } from './commands/schema-commands.js';
import { wizardCommand } from './commands/wizard-commands.js';
import { runsCommands } from './commands/runs-commands.js';
import { workflowCommands } from './commands/workflow-commands.js';

/** Builds the `liaison` program. Commands only parse, call a service and print; logic lives in the services. */
export function buildProgram(): Command {
  const program = new Command('liaison')
    .description('Liaison links a marketing database to CRMs (Salesforce, Dynamics 365) and keeps them in sync')
    .version('0.1.0')
    .option(
      '--db <url>',
      'store URL: sqlite:PATH or postgres://user@host:port/db (default: LIAISON_DB or sqlite:.liaison/liaison.db)',
    )
    .option('--json', 'print JSON for scripts')
    .option('--verbose', 'print stack traces on errors')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  program.addCommand(accountCommands());
  program.addCommand(sandboxCommands());
  program.addCommand(demoCommand());
  program.addCommand(wizardCommand());
  program.addCommand(schemaCommands());
  program.addCommand(enumsCommands());
  program.addCommand(workflowCommands());
  program.addCommand(runsCommands());
  for (const command of program.commands) command.exitOverride();
  return program;
}

async function main(argv: string[]): Promise<number> {
  enableCollectionBetweenBatches();
  const program = buildProgram();
  try {
    await program.parseAsync(argv);
    return 0;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander already printed usage errors; help and version are successes.
      return error.exitCode;
    }
    const verbose = argv.includes('--verbose');
    const message = redactText(errorMessage(error), []).split('\n')[0];
    process.stderr.write(`liaison: ${isLiaisonError(error) ? '' : 'unexpected error: '}${message}\n`);
    if (verbose && error instanceof Error && error.stack) process.stderr.write(error.stack + '\n');
    return isLiaisonError(error) && error.code === 'invalid_input' ? 2 : 1;
  }
}

main(process.argv).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`liaison: ${errorMessage(error)}\n`);
    process.exitCode = 1;
  },
);
