import { LiaisonError, errorMessage } from '../core/errors.js';
import type { ActivityHandler } from '../workflow/activity.js';
import type { CrmConnectorConfig } from '../workflow/workflow-schema.js';
import { defaultAccounts, openConnectorSession, type AccountsFactory } from './connector-session.js';
import { runImportDeleted } from './import-deleted-operation.js';
import { runImport } from './import-operation.js';
import { runWrite } from './export-operation.js';

/**
 * The CRM connector activity: one handler for the four operations, each in its own module. Errors follow the
 * activity's `onError`: `stop` (default) and `suspend` fail the run (a suspended run is meant to be resumed with
 * `liaison workflow run FILE --resume RUN`); `ignore` routes the error to the "error" transition and goes on.
 */
export function createCrmConnectorActivity(
  options: { accounts?: AccountsFactory } = {},
): ActivityHandler<CrmConnectorConfig> {
  const accounts = options.accounts ?? defaultAccounts;
  return {
    async run(config, ctx) {
      const session = await openConnectorSession(ctx.store, accounts, config.account, config.object);
      try {
        switch (config.operation) {
          case 'import':
            return await runImport(config, ctx, session);
          case 'import-deleted':
            return await runImportDeleted(config, ctx, session);
          case 'export':
          case 'delete':
            return await runWrite(config, ctx, session);
        }
      } catch (error) {
        if (config.onError !== 'ignore' || ctx.signal.aborted) {
          if (config.onError === 'suspend')
            throw new LiaisonError(
              'run_failed',
              `suspended: ${errorMessage(error)}; resume with --resume ${ctx.runId}`,
              { cause: error },
            );
          throw error;
        }
        ctx.log.warn({ err: errorMessage(error) }, 'connector error ignored (onError: ignore)');
        const writer = await ctx.createOutput('error', [
          { name: 'error_code', kind: 'text' },
          { name: 'error_message', kind: 'text' },
        ]);
        await writer.write([
          { error_code: error instanceof LiaisonError ? error.code : 'internal', error_message: errorMessage(error) },
        ]);
        return { outputs: { error: await writer.finish() } };
      } finally {
        ctx.counters.apiCalls = session.driver.apiCalls;
        await session.close();
      }
    },
  };
}
