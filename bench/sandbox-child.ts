/**
 * A CRM sandbox in its own process for the benchmark (forked with an IPC channel): the importer must not share
 * its event loop with the server, or the two would be serialised on one core and the figures would mean little.
 * The parent drives it with small messages so both sandboxes look alike (their HTTPS admin routes differ).
 *
 * argv: KIND RECORDS SEED DATA_DIR. Sends `{ type: 'ready', info, seedSeconds }`, then answers each request
 * `{ id, op, ... }` with `{ id, result }` or `{ id, error }`.
 */
import { startSandbox } from '../src/sandbox/index.js';
import type { SandboxHandle } from '../src/sandbox/common/sandbox-types.js';

/** Requests the benchmark sends to a sandbox child. */
export type SandboxRequest =
  | { id: number; op: 'latency'; latencyMs: number }
  | { id: number; op: 'resetRequests' }
  | { id: number; op: 'requests' }
  | { id: number; op: 'requestCounts' }
  | { id: number; op: 'count'; object: string }
  /** Updates `count` live records (spread over the table) with one timestamp, and answers how many. */
  | { id: number; op: 'touch'; object: string; field: string; count: number; total: number; at: string };

const [kind = 'salesforce', records = '1000', seed = '1', dataDir] = process.argv.slice(2);
const seedStart = performance.now();
const sandbox: SandboxHandle = await startSandbox(kind, {
  port: 0,
  host: '127.0.0.1',
  records: Number(records),
  seed: Number(seed),
  ...(dataDir ? { dataDir } : {}),
});
const seedSeconds = (performance.now() - seedStart) / 1000;

function handle(request: SandboxRequest): unknown {
  const admin = sandbox.admin;
  switch (request.op) {
    case 'latency':
      admin.setFaults({ latencyMs: request.latencyMs });
      return null;
    case 'resetRequests':
      admin.resetRequestCount();
      return null;
    case 'requests':
      return admin.requestCount();
    case 'requestCounts':
      return admin.requestCounts();
    case 'count':
      return admin.countRecords(request.object);
    case 'touch': {
      // listIds is in creation order: take every k-th of all ids so the changes are spread over the table.
      const ids = admin.listIds(request.object, request.total);
      const step = Math.max(1, Math.floor(ids.length / request.count));
      const at = new Date(request.at);
      let done = 0;
      for (let i = 0; i < ids.length && done < request.count; i += step) {
        admin.updateRecord(request.object, ids[i]!, { [request.field]: `Touched${done}` }, { at });
        done++;
      }
      return done;
    }
  }
}

process.on('message', (message: SandboxRequest) => {
  try {
    process.send?.({ id: message.id, result: handle(message) });
  } catch (error) {
    process.send?.({ id: message.id, error: error instanceof Error ? error.message : String(error) });
  }
});
process.on('disconnect', () => void sandbox.stop().finally(() => process.exit(0)));
process.send?.({
  type: 'ready',
  info: { url: sandbox.url, caFile: sandbox.caFile, credentials: sandbox.credentials },
  seedSeconds,
});
