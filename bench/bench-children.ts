/**
 * The parent's side of the benchmark's child processes: a sandbox child that lives across several runs, and
 * one-shot children (an import, the baseline, the ceiling) that each run one job in a fresh process and report.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import type { SandboxInfo } from '../src/sandbox/common/sandbox-types.js';
import type { SandboxRequest } from './sandbox-child.js';

const here = (file: string): string => fileURLToPath(new URL(file, import.meta.url));

/** Omits `id` from each member of a union. */
type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/** A sandbox running in its own process. */
export interface RemoteSandbox {
  kind: string;
  info: SandboxInfo;
  seedSeconds: number;
  call(request: WithoutId<SandboxRequest>): Promise<unknown>;
  stop(): Promise<void>;
}

export async function startRemoteSandbox(
  kind: string,
  records: number,
  seed: number,
  dataDir: string,
): Promise<RemoteSandbox> {
  // The parent's execArgv (a TS loader when run from sources) carries over; from dist/ it is empty.
  const child: ChildProcess = fork(here('./sandbox-child.js'), [kind, String(records), String(seed), dataDir], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>();
  let nextId = 1;
  const ready = new Promise<{ info: SandboxInfo; seedSeconds: number }>((resolve, reject) => {
    child.on(
      'message',
      (message: {
        type?: string;
        id?: number;
        result?: unknown;
        error?: string;
        info?: SandboxInfo;
        seedSeconds?: number;
      }) => {
        if (message.type === 'ready') return resolve({ info: message.info!, seedSeconds: message.seedSeconds ?? 0 });
        const waiter = message.id === undefined ? undefined : pending.get(message.id);
        if (!waiter) return;
        pending.delete(message.id!);
        if (message.error !== undefined) waiter.reject(new Error(`${kind} sandbox: ${message.error}`));
        else waiter.resolve(message.result);
      },
    );
    child.once('exit', (code) => {
      const error = new Error(`${kind} sandbox process exited (code ${code})`);
      reject(error);
      for (const waiter of pending.values()) waiter.reject(error);
      pending.clear();
    });
  });
  const { info, seedSeconds } = await ready;
  return {
    kind,
    info,
    seedSeconds,
    call: (request) =>
      new Promise((resolve, reject) => {
        const id = nextId++;
        pending.set(id, { resolve, reject });
        child.send({ ...request, id });
      }),
    stop: async () => {
      if (child.exitCode !== null) return;
      const exited = once(child, 'exit');
      child.disconnect();
      await exited;
    },
  };
}

/** Runs one job in a fresh child process (`file` answers `{result}` or `{error}` to the first message it gets). */
export async function runChild<Job, Result>(
  file: string,
  job: Job,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Result> {
  const child = fork(here(file), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env });
  const answer = new Promise<Result>((resolve, reject) => {
    child.once('message', (message: { result?: Result; error?: string }) =>
      message.error !== undefined ? reject(new Error(`${file}: ${message.error}`)) : resolve(message.result as Result),
    );
    child.once('exit', (code) => reject(new Error(`${file} exited (code ${code}) without an answer`)));
  });
  child.send(job as object);
  try {
    return await answer;
  } finally {
    if (child.exitCode === null) await once(child, 'exit');
  }
}
