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

/**
 * Registers a secret value (a token, a password, a PEM key) so it is masked in every log line and
 * in what {@link maskSecrets} cleans. Also registers the forms it takes inside JSON text (newlines
 * and quotes escaped) and, for a PEM, each line of its body, so a key is masked even when only
 * part of it, or a re-wrapped copy, reaches a message.
 */
export function registerSecret(value: string | undefined): void {
  if (!value || value.length < 4) return;
  secretValues.add(value);
  const escaped = JSON.stringify(value).slice(1, -1);
  if (escaped !== value) secretValues.add(escaped);
  if (value.includes('-----BEGIN')) {
    const body = value
      .split(/\r?\n/)
      .map((line) => line.trim())
      .filter((line) => line !== '' && !line.startsWith('-----') && !line.includes(':'));
    for (const line of body) if (line.length >= 16) secretValues.add(line);
    if (body.length > 0) secretValues.add(body.join(''));
  }
}

/** Registers several secrets at once: the configuration's, at start-up (see `configSecrets`). */
export function registerSecrets(values: Iterable<string | undefined>): void {
  for (const value of values) registerSecret(value);
}

/** Replaces every registered secret in a string with `[REDACTED]`, the longest first. */
export function maskSecrets(text: string): string {
  if (secretValues.size === 0) return text;
  let out = text;
  for (const s of [...secretValues].sort((a, b) => b.length - a.length))
    out = out.split(s).join('[REDACTED]');
  return out;
}

/** A copy of a JSON-like value with every registered secret masked in its strings and keys. */
export function maskJson<T>(value: T): T {
  if (secretValues.size === 0) return value;
  return maskDeep(value) as T;
}

function maskDeep(value: unknown): unknown {
  if (typeof value === 'string') return maskSecrets(value);
  if (Array.isArray(value)) return value.map(maskDeep);
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [maskSecrets(k), maskDeep(v)]));
  return value;
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
