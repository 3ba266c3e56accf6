import type { DriverModule } from '../driver.js';
import { createDynamicsDriver } from './dynamics-driver.js';

export const DEFAULT_AUTHORITY_URL = 'https://login.microsoftonline.com';

/** Dynamics 365 / Dataverse entry in the driver registry. */
export const dynamicsModule: DriverModule = {
  kind: 'dynamics',
  label: 'Microsoft Dynamics 365',
  defaultApiVersion: '9.2',
  authModes: {
    'client-secret': { required: ['tenant', 'clientId', 'clientSecret'] },
    certificate: { required: ['tenant', 'clientId', 'privateKey', 'certificate'] },
    password: {
      required: ['tenant', 'clientId', 'username', 'password'],
      warning:
        'the resource-owner password flow fails for users who must pass multi-factor authentication; prefer --auth client-secret or --auth certificate',
    },
  },
  tokenUrls: (settings) => {
    const authority = settings.auth.authorityUrl ?? DEFAULT_AUTHORITY_URL;
    const tenant = encodeURIComponent(settings.auth.tenant ?? 'common');
    return [new URL(`/${tenant}/oauth2/v2.0/token`, authority).toString()];
  },
  createDriver: createDynamicsDriver,
};
