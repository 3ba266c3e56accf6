import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '../..');
const built = path.join(root, 'dist/src/cli/main.js');

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the `liaison` CLI as a separate process, as a user would: the build from `npm test` when present,
 * else the TypeScript entry through tsx. No TTY, so no prompts and plain-line progress.
 */
export function runCli(
  args: string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  const argv =
    existsSync(built) && process.env.LIAISON_CLI_FROM_SOURCE !== '1'
      ? [built, ...args]
      : ['--import', import.meta.resolve('tsx'), path.join(root, 'src/cli/main.ts'), ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, argv, {
      cwd: options.cwd ?? root,
      env: { ...process.env, LIAISON_LOG_LEVEL: 'warn', ...options.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** Starts the CLI as a long-running process (a sandbox, a workflow run to be killed…). */
export function spawnCli(args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}) {
  const argv =
    existsSync(built) && process.env.LIAISON_CLI_FROM_SOURCE !== '1'
      ? [built, ...args]
      : ['--import', import.meta.resolve('tsx'), path.join(root, 'src/cli/main.ts'), ...args];
  return spawn(process.execPath, argv, {
    cwd: options.cwd ?? root,
    env: { ...process.env, LIAISON_LOG_LEVEL: 'warn', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Starts `liaison sandbox start --json` in its own process and resolves with its start-up line. */
export async function startSandboxProcess(crm: string, args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const child = spawnCli(['--json', 'sandbox', 'start', '--crm', crm, '--port', '0', ...args], { env });
  const info = await new Promise<{ url: string; caFile: string; credentials: Record<string, Record<string, string>> }>(
    (resolve, reject) => {
      let buffer = '';
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout!.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const newline = buffer.indexOf('\n');
        if (newline >= 0) resolve(JSON.parse(buffer.slice(0, newline)));
      });
      child.once('exit', (code) => reject(new Error(`sandbox exited with ${code}: ${stderr}`)));
    },
  );
  return {
    ...info,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  };
}
