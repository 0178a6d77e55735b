import {
  pino,
  destination as pinoDestination,
  type DestinationStream,
  type Logger,
  type LoggerOptions,
} from 'pino';

export type { Logger };

/**
 * Paths pino censors wherever they appear in a log object, so no call site has to remember.
 * Errors are serialised before redaction, so a token in an error's context is caught too.
 */
export const redactPaths = [
  'token',
  'password',
  'secret',
  'authorization',
  'key',
  'privateKey',
  '*.token',
  '*.password',
  '*.secret',
  '*.authorization',
  '*.Authorization',
  '*.privateKey',
  '*.githubToken',
  '*.signingKeyPassword',
  '*.registryAuth',
  '*.apiToken',
  '*.githubWebhookSecret',
  'headers.authorization',
  'req.headers.authorization',
  'req.headers["x-hub-signature-256"]',
  'config.githubToken',
  'config.signingKeyPassword',
  'config.registryAuth',
  'config.apiToken',
  'config.githubWebhookSecret',
];

/** Strings that must never be printed, whatever field they hide in (registered at start-up). */
const secretValues = new Set<string>();

/** Registers a secret value (a token, a password) so it is masked in every log line. */
export function registerSecret(value: string | undefined): void {
  if (value && value.length >= 4) secretValues.add(value);
}

/** Replaces every registered secret in a string with `[REDACTED]`. */
export function maskSecrets(text: string): string {
  let out = text;
  for (const s of secretValues) out = out.split(s).join('[REDACTED]');
  return out;
}

export function createLogger(
  options: { level?: string; name?: string } = {},
  destination?: DestinationStream,
): Logger {
  const opts: LoggerOptions = {
    level: options.level ?? process.env.KILN_LOG_LEVEL ?? 'info',
    name: options.name ?? 'kiln',
    redact: { paths: redactPaths, censor: '[REDACTED]' },
    formatters: {
      log: (obj) => (secretValues.size === 0 ? obj : scrub(obj)),
    },
    hooks: {
      logMethod(args, method) {
        if (secretValues.size > 0) {
          const masked = args.map((a) => (typeof a === 'string' ? maskSecrets(a) : a));
          return method.apply(this, masked as Parameters<typeof method>);
        }
        return method.apply(this, args);
      },
    },
  };
  return destination ? pino(opts, destination) : pino(opts, pinoDestination(2));
}

function scrub(obj: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(maskSecrets(JSON.stringify(obj))) as Record<string, unknown>;
}

/** The process-wide logger; parts take a child with their own bindings. */
export const log = createLogger();
