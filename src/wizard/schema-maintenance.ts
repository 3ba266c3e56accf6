import { LiaisonError } from '../core/errors.js';
import type { Store } from '../store/store-types.js';
import { dropColumns } from './schema-ddl.js';
import { findSchema, saveSchema } from './schema-registry.js';
import type { LocalColumn } from './schema-types.js';

/**
 * Drops the orphan columns of a schema (fields the CRM no longer has) with their data, in one transaction.
 * Returns the dropped columns; none is not an error.
 */
export async function dropOrphans(store: Store, name: string): Promise<LocalColumn[]> {
  return store.db.transaction().execute(async (trx) => {
    const schema = await findSchema(trx, name);
    if (!schema) throw new LiaisonError('schema_not_found', `no schema named "${name}"; see 'liaison schema list'`);
    const orphans = schema.columns.filter((c) => c.orphan);
    if (orphans.length === 0) return [];
    await dropColumns(trx, schema.table, orphans);
    await saveSchema(trx, {
      ...schema,
      columns: schema.columns.filter((c) => !c.orphan),
      updatedAt: new Date().toISOString(),
    });
    return orphans;
  });
}
