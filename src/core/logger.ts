import { pino, type Logger } from 'pino';

/**
 * The process logger. Logs go to stderr so stdout stays for command output (and `--json`). The default level is
 * `error`: commands report outcomes in their own words; LIAISON_LOG_LEVEL=info or debug shows the details. Secret-looking keys are
 * redacted by pino itself, so a careless `log.info({ account })` cannot leak a secret.
 */
export function createLogger(level: string = process.env.LIAISON_LOG_LEVEL ?? 'error'): Logger {
  return pino(
    {
      level,
      redact: {
        paths: [
          '*.password',
          '*.clientSecret',
          '*.securityToken',
          '*.privateKey',
          '*.accessToken',
          '*.access_token',
          '*.client_secret',
          '*.authorization',
          'headers.authorization',
          'password',
          'clientSecret',
          'securityToken',
          'privateKey',
          'accessToken',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination(2),
  );
}

let shared: Logger | undefined;
export function logger(): Logger {
  shared ??= createLogger();
  return shared;
}
export type { Logger };
