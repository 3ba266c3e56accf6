import type { DriverModule } from '../driver.js';
import { createSalesforceDriver } from './salesforce-driver.js';

/** Salesforce's entry in the driver registry: auth modes and their required settings, and the driver factory. */
export const salesforceModule: DriverModule = {
  kind: 'salesforce',
  label: 'Salesforce',
  defaultApiVersion: '62.0',
  authModes: {
    'client-credentials': { required: ['clientId', 'clientSecret'] },
    jwt: { required: ['clientId', 'username', 'privateKey'] },
    password: {
      required: ['clientId', 'clientSecret', 'username', 'password'],
      warning:
        'the username-password flow is being retired by Salesforce and is blocked in new orgs; prefer --auth client-credentials or --auth jwt',
    },
  },
  // The token endpoint lives on the login / My Domain URL.
  tokenUrls: (settings) => [new URL('/services/oauth2/token', settings.url).toString()],
  createDriver: createSalesforceDriver,
};
