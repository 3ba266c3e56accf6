import { jsonReply, type Handler } from './http-server.js';
import type { SalesforceSandboxAdmin } from './sandbox-admin.js';

export function adminHandler(admin: SalesforceSandboxAdmin): Handler {
  return () => jsonReply(200, { count: admin.requestCount() });
}
