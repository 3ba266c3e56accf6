import { AccountsService } from '../accounts/accounts-service.js';
import { LiaisonError } from '../core/errors.js';
import type { CrmDriver } from '../crm/driver.js';
import { driverModule } from '../crm/registry.js';
import type { Store } from '../store/store-types.js';
import { getSchema } from '../wizard/schema-registry.js';
import type { LocalColumn, LocalSchema } from '../wizard/schema-types.js';
import type { ColumnKind } from '../workflow/workflow-tables.js';

/** How the connector gets at accounts (the CLI uses the default key; the demo and tests pass their own). */
export type AccountsFactory = (store: Store) => AccountsService;
export const defaultAccounts: AccountsFactory = (store) => new AccountsService(store);

export interface ConnectorSession {
  driver: CrmDriver;
  schema: LocalSchema;
  close(): Promise<void>;
}

/** The driver of `account` and the generated schema `object`, checked to belong together. */
export async function openConnectorSession(store: Store, accounts: AccountsFactory, account: string, object: string): Promise<ConnectorSession> {
  const schema = await getSchema(store, object);
  if (schema.account !== account) {
    throw new LiaisonError('invalid_input', `schema "${object}" was generated for account "${schema.account}", not "${account}"; name the matching account or schema`);
  }
  const settings = await accounts(store).connectionSettings(account);
  const driver = driverModule(settings.kind).createDriver(settings);
  return { driver, schema, close: () => driver.close() };
}

/** The schema column of a field, named by its local column or its CRM field (case-insensitively). */
export function resolveColumn(schema: LocalSchema, name: string): LocalColumn {
  const wanted = name.toLowerCase();
  const column =
    schema.columns.find((c) => c.column === name || c.crmField === name) ??
    schema.columns.find((c) => c.column.toLowerCase() === wanted || c.crmField.toLowerCase() === wanted);
  if (!column || column.orphan) {
    const known = schema.columns.filter((c) => !c.orphan).map((c) => c.crmField);
    throw new LiaisonError(
      'field_not_found',
      `field "${name}" is not in schema "${schema.name}" (${schema.crmObject}); known fields: ${known.slice(0, 25).join(', ')}${known.length > 25 ? ', …' : ''}`,
    );
  }
  return column;
}

/** The working-set column kind that holds a CRM field of this neutral type. */
export function columnKindOf(column: LocalColumn): ColumnKind {
  if (column.multiSelect) return 'text';
  switch (column.type) {
    case 'boolean':
      return 'boolean';
    case 'integer':
    case 'bigint':
      return 'integer';
    case 'decimal':
    case 'double':
      return 'number';
    default:
      return 'text';
  }
}
