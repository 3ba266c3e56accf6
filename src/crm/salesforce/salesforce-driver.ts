import { LiaisonError } from '../../core/errors.js';
import type { ConnectionSettings, CrmDriver } from '../driver.js';

// Placeholder until the Salesforce driver lands (issue 3): accounts can be stored, not yet tested.
export function createSalesforceDriver(_settings: ConnectionSettings): CrmDriver {
  throw new LiaisonError('not_supported', 'the Salesforce driver is not built yet');
}
