export { openStore, resolveStoreUrl, DEFAULT_STORE_URL } from './store-open.js';
export type { Store, StoreDialect, LiaisonDatabase } from './store-types.js';
