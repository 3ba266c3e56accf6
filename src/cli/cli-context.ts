import type { Command } from 'commander';
import { AccountsService } from '../accounts/accounts-service.js';
import { openStore, resolveStoreUrl } from '../store/store-open.js';
import type { Store } from '../store/store-types.js';

/** Options every command inherits from the program. */
export interface GlobalOptions {
  db?: string;
  json?: boolean;
  verbose?: boolean;
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** Opens the store named by --db / LIAISON_DB / the default, runs `work`, and always closes it. */
export async function withStore<T>(command: Command, work: (store: Store) => Promise<T>): Promise<T> {
  const store = await openStore(resolveStoreUrl(globalOptions(command).db));
  try {
    return await work(store);
  } finally {
    await store.close();
  }
}

export async function withAccounts<T>(
  command: Command,
  work: (accounts: AccountsService, store: Store) => Promise<T>,
): Promise<T> {
  return withStore(command, (store) => work(new AccountsService(store), store));
}
