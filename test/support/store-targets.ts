import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

/**
 * The stores every store-backed suite runs against. PostgreSQL is required in CI (CI=true); on a machine without
 * a server (a fresh laptop with only Node.js) its suites are skipped, and the skip says why.
 */
export const PG_BASE_URL = process.env.LIAISON_TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface StoreTarget {
  name: 'sqlite' | 'postgres';
  /** A fresh, empty store URL (new file, or new schema). */
  freshUrl(): string;
  /** Drops what freshUrl created (PostgreSQL schemas). */
  cleanup(): Promise<void>;
}

const pgUrl = new URL(PG_BASE_URL);
export const postgresAvailable: boolean = await new Promise<boolean>((resolve) => {
  const socket = net.connect({ host: pgUrl.hostname, port: Number(pgUrl.port || 5432) });
  socket.setTimeout(1500);
  socket.once('connect', () => {
    socket.destroy();
    resolve(true);
  });
  socket.once('error', () => resolve(false));
  socket.once('timeout', () => {
    socket.destroy();
    resolve(false);
  });
});
if (!postgresAvailable && process.env.CI === 'true') {
  throw new Error(
    `PostgreSQL is not answering at ${PG_BASE_URL}: CI must run the PostgreSQL suites (.ci/run starts the server)`,
  );
}

export function sqliteTarget(): StoreTarget {
  return {
    name: 'sqlite',
    freshUrl: () => `sqlite:${path.join(mkdtempSync(path.join(os.tmpdir(), 'liaison-test-')), 'liaison.db')}`,
    cleanup: async () => undefined,
  };
}

export function postgresTarget(): StoreTarget {
  const schemas: string[] = [];
  return {
    name: 'postgres',
    freshUrl: () => {
      const schema = `t_${randomBytes(6).toString('hex')}`;
      schemas.push(schema);
      const url = new URL(PG_BASE_URL);
      url.searchParams.set('schema', schema);
      return url.toString();
    },
    cleanup: async () => {
      if (schemas.length === 0) return;
      const client = new pg.Client({ connectionString: PG_BASE_URL });
      await client.connect();
      try {
        for (const schema of schemas.splice(0)) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Both targets, PostgreSQL only where a server answers (always in CI). */
export function storeTargets(): StoreTarget[] {
  return postgresAvailable ? [sqliteTarget(), postgresTarget()] : [sqliteTarget()];
}
