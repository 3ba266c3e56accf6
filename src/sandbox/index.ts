import { LiaisonError } from '../core/errors.js';
import type { CrmKind } from '../crm/driver.js';
import type { SandboxHandle, SandboxStartOptions } from './common/sandbox-types.js';
import { startDynamicsSandbox } from './dynamics/index.js';
import { startSalesforceSandbox } from './salesforce/index.js';

/** Starts the sandbox of a CRM kind in this process. Only the CLI (sandbox, demo), tests and benchmarks use this. */
export function startSandbox(kind: CrmKind | string, options: SandboxStartOptions = {}): Promise<SandboxHandle> {
  switch (kind) {
    case 'salesforce':
      return startSalesforceSandbox(options);
    case 'dynamics':
      return startDynamicsSandbox(options);
    default:
      throw new LiaisonError('invalid_input', `unknown CRM type "${kind}" for a sandbox: use salesforce or dynamics`);
  }
}

export type {
  SandboxAdmin,
  SandboxFaults,
  SandboxHandle,
  SandboxInfo,
  SandboxStartOptions,
} from './common/sandbox-types.js';
