/**
 * Runs the Dataverse sandbox in a worker thread for the benchmark, so the server's CPU work does not share the
 * driver's event loop (a real CRM is another machine). Posts its connection info, then serves until terminated.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { startDynamicsSandbox } from '../src/sandbox/dynamics/index.js';

const { records, dataDir } = workerData as { records: number; dataDir: string };
const sandbox = await startDynamicsSandbox({ port: 0, host: '127.0.0.1', records, dataDir, seed: 1 });
parentPort?.postMessage({ url: sandbox.url, caFile: sandbox.caFile, credentials: sandbox.credentials });
