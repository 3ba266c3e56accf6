import type { ActivityRegistry } from './activity.js';
import { deduplicationActivity } from './activities/dedup-activity.js';
import { enrichmentActivity } from './activities/enrichment-activity.js';
import { queryActivity } from './activities/query-activity.js';
import { endActivity, unionActivity } from './activities/union-activity.js';
import { updateDataActivity } from './activities/update-data-activity.js';

/**
 * The built-in activity handlers. An explicit map, no registration by side effect: the CRM connector (src/sync)
 * adds itself with `{ ...builtinActivities, 'crm-connector': crmConnectorActivity }` where the CLI builds its registry.
 */
export const builtinActivities: ActivityRegistry = {
  query: queryActivity,
  enrichment: enrichmentActivity,
  'update-data': updateDataActivity,
  deduplication: deduplicationActivity,
  union: unionActivity,
  end: endActivity,
};
