import { Command } from 'commander';
import path from 'node:path';
import { globalOptions } from '../cli-context.js';
import { printJson, printTable } from '../cli-output.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description('run the whole story on the embedded defaults: sandboxes, accounts, and a summary')
    .option('--dir <dir>', 'folder for the demo store and sandbox files (recreated)', '.liaison/demo')
    .option('--records <n>', 'contacts seeded in each sandbox', (v) => Number(v), 50_000)
    .action(async (options: { dir: string; records: number }, command: Command) => {
      const json = globalOptions(command).json === true;
      const started = Date.now();
      const { runDemo } = await import('../../demo/demo-run.js'); // loaded on use, like the sandboxes it starts
      const result = await runDemo({
        dir: path.resolve(options.dir),
        records: options.records,
        log: (line) => (json ? undefined : process.stderr.write(`${line}\n`)),
      });
      if (json) return printJson(result);
      process.stdout.write('\nsummary\n');
      printTable(
        ['STEP', 'RECORDS', 'REJECTS', 'API CALLS', 'SECONDS'],
        result.steps.map((s) => [s.step, s.records, s.rejects, s.apiCalls, s.seconds.toFixed(2)]),
      );
      process.stdout.write(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s. Look further with:\n`);
      process.stdout.write(`  npx liaison account list --db ${result.storeUrl}\n`);
    });
}
