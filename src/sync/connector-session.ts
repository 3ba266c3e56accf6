import { AccountsService } from '../accounts/accounts-service.js';
import { LiaisonError } from '../core/errors.js';
import type { CrmDriver } from '../crm/driver.js';
import { driverModule } from '../crm/registry.js';
import type { Store } from '../store/store-types.js';
import { getSchema } from '../wizard/schema-registry.js';
import type { LocalSchema } from '../wizard/schema-types.js';

/** How the connector gets at accounts (the CLI uses the default key; the demo and tests pass their own). */
export type AccountsFactory = (store: Store) => AccountsService;
export const defaultAccounts: AccountsFactory = (store) => new AccountsService(store);

export interface ConnectorSession {
  driver: CrmDriver;
  schema: LocalSchema;
  close(): Promise<void>;
}

/** The driver of `account` and the generated schema `object`, checked to belong together. */
export async function openConnectorSession(
  store: Store,
  accounts: AccountsFactory,
  account: string,
  object: string,
): Promise<ConnectorSession> {
  const schema = await getSchema(store, object);
  if (schema.account !== account) {
    throw new LiaisonError(
      'invalid_input',
      `schema "${object}" was generated for account "${schema.account}", not "${account}"; name the matching account or schema`,
    );
  }
  const settings = await accounts(store).connectionSettings(account);
  const driver = driverModule(settings.kind).createDriver(settings);
  return { driver, schema, close: () => driver.close() };
}
