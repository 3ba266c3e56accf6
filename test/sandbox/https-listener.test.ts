import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { HttpsListener } from '../../src/sandbox/common/https-listener.js';
import { createSandboxTls } from '../../src/sandbox/common/sandbox-tls.js';

const dir = mkdtempSync(join(tmpdir(), 'liaison-listener-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves with the promise's outcome, or 'pending' if it has not settled within `ms`. */
function within<T>(promise: Promise<T>, ms: number): Promise<T | 'pending'> {
  return Promise.race([promise, new Promise<'pending'>((resolve) => setTimeout(() => resolve('pending'), ms))]);
}

describe('sandbox HTTPS listener', () => {
  it('stops at once although a client is still in its TLS handshake', async () => {
    const listener = new HttpsListener(createSandboxTls(dir, 'listener'), (_req, res) => res.end('ok'), 65_000);
    const port = await listener.listen(0, '127.0.0.1');
    // A raw TCP client that never starts TLS: the HTTP layer does not know it yet.
    const client = net.connect({ port, host: '127.0.0.1' });
    const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
    client.on('error', () => undefined);
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await new Promise((resolve) => setTimeout(resolve, 50)); // the server has accepted it
    expect(await within(listener.close(), 5000)).toBeUndefined();
    expect(await within(closed, 5000)).toBeUndefined();
  });
});
