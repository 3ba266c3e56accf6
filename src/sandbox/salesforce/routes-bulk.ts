import type { Route } from './http-server.js';
import type { SfContext } from './sandbox-context.js';

export function bulkRoutes(_sf: SfContext): { routes: Route[]; stop(): void } {
  return { routes: [], stop: () => undefined };
}
