import { z } from 'zod';
import type { CrmKind } from '../crm/driver.js';

/**
 * What a user gives to create an external account. Secrets arrive as values here (the CLI reads them from
 * environment variables, files or a prompt — never from argv) and leave only encrypted.
 */
export const accountInputSchema = z.object({
  name: z
    .string()
    .regex(
      /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/,
      'must start with a letter and hold only letters, digits, ".", "_" or "-" (at most 63)',
    ),
  crm: z.string().min(1),
  url: z.string().min(1),
  auth: z.string().min(1),
  apiVersion: z
    .string()
    .regex(/^v?\d+\.\d+$/, 'must look like 62.0 (Salesforce) or 9.2 (Dynamics)')
    .optional(),
  clientId: z.string().min(1).optional(),
  username: z.string().min(1).optional(),
  tenant: z.string().min(1).optional(),
  authorityUrl: z.string().min(1).optional(),
  caFile: z.string().min(1).optional(),
  privateKeyFile: z.string().min(1).optional(),
  certificateFile: z.string().min(1).optional(),
  secrets: z
    .object({
      clientSecret: z.string().min(1).optional(),
      password: z.string().min(1).optional(),
      securityToken: z.string().optional(),
    })
    .default({}),
});
export type AccountInput = z.input<typeof accountInputSchema>;

/** Settings stored in clear: nothing here is secret. */
export interface AccountSettings {
  clientId?: string;
  username?: string;
  tenant?: string;
  authorityUrl?: string;
  /** PEM of the client certificate (public). */
  certificate?: string;
}

/** Settings stored only encrypted. */
export interface AccountSecrets {
  clientSecret?: string;
  password?: string;
  securityToken?: string;
  privateKey?: string;
}

export const SECRET_NAMES = ['clientSecret', 'password', 'securityToken', 'privateKey'] as const;

/** An account as shown to people and scripts: secrets appear only as "set". */
export interface AccountView {
  name: string;
  crm: CrmKind;
  url: string;
  apiVersion: string;
  auth: string;
  clientId?: string;
  username?: string;
  tenant?: string;
  authorityUrl?: string;
  certificate?: 'set';
  caFile?: string;
  secrets: Partial<Record<(typeof SECRET_NAMES)[number], 'set'>>;
  createdAt: string;
  updatedAt: string;
}
