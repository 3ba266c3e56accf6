import { Command } from 'commander';
import path from 'node:path';
import { globalOptions } from '../cli-context.js';
import { printJson, printTable } from '../cli-output.js';
import { createProgress } from './workflow-commands.js';

export function demoCommand(): Command {
  return new Command('demo')
    .description(
      'run the whole story on the embedded defaults: sandboxes, accounts, wizard, imports, exports, a summary',
    )
    .option('--dir <dir>', 'folder for the demo store and sandbox files (recreated)', '.liaison/demo')
    .option('--records <n>', 'contacts seeded in each sandbox', (v) => Number(v), 50_000)
    .action(async (options: { dir: string; records: number }, command: Command) => {
      const json = globalOptions(command).json === true;
      const started = Date.now();
      const { runDemo } = await import('../../demo/demo-run.js'); // loaded on use, like the sandboxes it starts
      const result = await runDemo({
        dir: path.resolve(options.dir),
        records: options.records,
        log: (line) => (json ? undefined : process.stderr.write(`liaison demo: ${line}\n`)),
        ...(json ? {} : { progress: createProgress }),
      });
      if (json) return printJson(result);
      process.stdout.write('\nsummary\n');
      printTable(
        ['STEP', 'RECORDS', 'REJECTS', 'API CALLS', 'SECONDS'],
        result.steps.map((s) => [s.step, s.records, s.rejects, s.apiCalls, s.seconds.toFixed(2)]),
      );
      const db = `--db ${result.storeUrl}`;
      process.stdout.write(`\ndone in ${((Date.now() - started) / 1000).toFixed(1)} s. Look further with:\n`);
      for (const line of [
        `runs list`,
        `runs show 1`,
        `schema list`,
        `schema show crm:sfdcContact`,
        `enums list`,
        `account list`,
      ]) {
        process.stdout.write(`  npx liaison ${db} ${line}\n`);
      }
      process.stdout.write(
        `The workflows it ran are in ${path.relative(process.cwd(), result.examples) || result.examples}/.\n`,
      );
    });
}
