import { LiaisonError } from '../../core/errors.js';
import type { ConnectionSettings, CrmDriver } from '../driver.js';

// Placeholder until the Dynamics driver lands (issue 4): accounts can be stored, not yet tested.
export function createDynamicsDriver(_settings: ConnectionSettings): CrmDriver {
  throw new LiaisonError('not_supported', 'the Dynamics 365 driver is not built yet');
}
