import type { IncomingMessage, ServerResponse } from 'node:http';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The sandboxes' HTTPS server with a stop that does not wait on clients. `closeAllConnections()` only reaches the
 * sockets the HTTP layer knows; a socket still in its TLS handshake when the sandbox stops is not among them and
 * would hold `close()` open for the whole keep-alive timeout. So every raw socket is tracked and destroyed.
 */
export class HttpsListener {
  readonly server: https.Server;
  private readonly sockets = new Set<Socket>();

  constructor(
    tls: { key: string; cert: string },
    handler: (req: IncomingMessage, res: ServerResponse) => void,
    keepAliveTimeoutMs: number,
  ) {
    this.server = https.createServer({ key: tls.key, cert: tls.cert, keepAlive: true }, handler);
    this.server.keepAliveTimeout = keepAliveTimeoutMs;
    this.server.on('connection', (socket: Socket) => {
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
      for (const socket of this.sockets) socket.destroy();
    });
  }
}
