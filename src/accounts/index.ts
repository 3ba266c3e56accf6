export { AccountsService, type AccountChanges, type AddAccountResult } from './accounts-service.js';
export type { AccountInput, AccountView } from './account-model.js';
export { loadSecretKey, type SecretKey } from './secret-box.js';
