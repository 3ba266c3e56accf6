import { LiaisonError } from '../core/errors.js';
import type { CrmKind, DriverModule } from './driver.js';
import { dynamicsModule } from './dynamics/dynamics-module.js';
import { salesforceModule } from './salesforce/salesforce-module.js';

/** An explicit map from CRM kind to driver module: adding a CRM is one line here and one folder. */
const DRIVERS: Record<CrmKind, DriverModule> = {
  salesforce: salesforceModule,
  dynamics: dynamicsModule,
};

export const CRM_KINDS = Object.keys(DRIVERS) as CrmKind[];

export function driverModule(kind: string): DriverModule {
  const module = DRIVERS[kind as CrmKind];
  if (!module) {
    throw new LiaisonError('invalid_input', `unknown CRM type "${kind}": use one of ${CRM_KINDS.join(', ')}`);
  }
  return module;
}
