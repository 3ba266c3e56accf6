import { Command, InvalidArgumentError } from 'commander';
import { globalOptions } from '../cli-context.js';
import { printJson } from '../cli-output.js';

interface StartOptions {
  crm: string;
  port: number;
  host: string;
  records: number;
  seed: number;
  data?: string;
  tokenTtl?: number;
}

export function sandboxCommands(): Command {
  const sandbox = new Command('sandbox').description(
    'HTTPS servers speaking the Salesforce REST and Dataverse Web API wire formats',
  );
  sandbox
    .command('start')
    .description('start a CRM sandbox and run until stopped (Ctrl-C)')
    .requiredOption('--crm <type>', 'salesforce | dynamics')
    .option('--port <n>', 'port to listen on (0 picks a free one)', integer('--port'), 0)
    .option('--host <host>', 'address to listen on', '127.0.0.1')
    .option(
      '--records <n>',
      'seeded contacts (with proportional accounts, leads, opportunities, orders)',
      integer('--records'),
      1000,
    )
    .option('--seed <n>', 'seed for reproducible data', integer('--seed'), 1)
    .option('--data <dir>', 'directory for the CA, keys and data (default: a new temporary directory)')
    .option('--token-ttl <seconds>', 'access token lifetime', integer('--token-ttl'))
    .action(async (options: StartOptions, command: Command) => {
      // Loaded on use: the sandboxes (and their certificate tooling) stay out of every other command's start-up.
      const { startSandbox } = await import('../../sandbox/index.js');
      const handle = await startSandbox(options.crm, {
        port: options.port,
        host: options.host,
        records: options.records,
        seed: options.seed,
        ...(options.data ? { dataDir: options.data } : {}),
        ...(options.tokenTtl ? { tokenTtlSeconds: options.tokenTtl } : {}),
      });
      const info = { url: handle.url, caFile: handle.caFile, credentials: handle.credentials };
      if (globalOptions(command).json) {
        process.stdout.write(JSON.stringify(info) + '\n');
      } else {
        process.stdout.write(
          `${options.crm} sandbox listening on ${handle.url}\nCA file: ${handle.caFile}\ncredentials (sandbox only):\n`,
        );
        printJson(info.credentials);
        process.stdout.write('press Ctrl-C to stop\n');
      }
      await new Promise<void>((resolve) => {
        const stop = () => void handle.stop().then(resolve, resolve);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
  return sandbox;
}

function integer(flag: string) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < 0) throw new InvalidArgumentError(`${flag} takes a whole number ≥ 0`);
    return parsed;
  };
}
