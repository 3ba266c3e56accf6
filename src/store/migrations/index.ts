import type { Migration } from 'kysely';
import type { StoreDialect } from '../store-types.js';
import { foundation } from './001-foundation.js';
import { schemas } from './002-schemas.js';
import { workflows } from './003-workflows.js';
import { sync } from './004-sync.js';
import { runHeartbeat } from './005-run-heartbeat.js';

/**
 * Every migration, in order. Listed explicitly (not read from the file system) so the built package and the test
 * runner see the same set. Append new ones at the end with the next number; never edit a released one.
 */
export function migrations(dialect: StoreDialect): Record<string, Migration> {
  return {
    '001-foundation': foundation(dialect),
    '002-schemas': schemas(dialect),
    '003-workflows': workflows(dialect),
    '004-sync': sync(dialect),
    '005-run-heartbeat': runHeartbeat(),
  };
}
