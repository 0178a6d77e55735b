import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { hashTagged, prefixPattern } from './queue/prefix.ts';
import { parseRedisUrl, RedisUrlError } from './queue/redis-url.ts';

/** A setting that fails validation: the message names the variable and what was wrong. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
    this.name = 'ConfigError';
  }
}

const duration = z
  .string()
  .regex(/^\d+(ms|s|m|h|d)?$/, 'expected a duration such as 300s, 5m, 1h or a number of seconds')
  .transform(parseDuration);

/** Parses `90`, `90s`, `5m`, `1h`, `2d`, `500ms` into milliseconds. */
export function parseDuration(value: string): number {
  const match = /^(\d+)(ms|s|m|h|d)?$/.exec(value.trim());
  if (!match) throw new Error(`not a duration: ${value}`);
  const n = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[unit] ?? 1000;
  return n * factor;
}

const int = (min: number, max: number) =>
  z
    .string()
    .regex(/^\d+$/, 'expected a whole number')
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const bool = z
  .enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off'], {
    error: 'expected true or false',
  })
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const url = z.url({ error: 'expected a URL such as http://host:port' });
/** One URL or several, separated by commas or spaces (mirrors tried in order). */
const urlList = z
  .string()
  .transform((v) => v.split(/[\s,]+/).filter((x) => x !== ''))
  .pipe(z.array(url).min(1, 'expected one URL or several separated by commas'));

/** `host[:port]/namespace`: where images are pushed. */
const registryRef = z
  .string()
  .regex(
    /^[a-zA-Z0-9.-]+(:\d+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/,
    'expected host[:port][/namespace], e.g. 127.0.0.1:5000/kiln',
  );

/** KILN_REDIS_URL in one of its three forms (see src/queue/redis-url.ts); kept as written. */
const redisUrl = z.string().superRefine((value, ctx) => {
  try {
    parseRedisUrl(value);
  } catch (error) {
    if (!(error instanceof RedisUrlError)) throw error;
    ctx.addIssue({ code: 'custom', message: error.message });
  }
});

/**
 * KILN_VULN_FEED: an http(s) URL (fetched with a conditional GET, cached) or a file or folder path
 * (the tracker's JSON, an OSV array, or a folder of OSV records).
 */
const vulnFeed = z
  .string()
  .transform((v): { kind: 'url'; url: string } | { kind: 'path'; path: string } =>
    /^[a-z][a-z0-9+.-]*:\/\//i.test(v)
      ? { kind: 'url', url: v }
      : { kind: 'path', path: path.resolve(v) },
  )
  .refine((v) => v.kind === 'path' || /^https?:\/\//i.test(v.url), {
    error: 'expected an http(s) URL or a file path',
  })
  .refine((v) => v.kind === 'path' || URL.canParse(v.url), { error: 'expected a valid URL' });

const level = z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

/** Every environment variable kiln reads, with its parser. Unset means "use the default". */
const envSchema = {
  KILN_REDIS_URL: redisUrl.optional(),
  KILN_QUEUE_PREFIX: z
    .string()
    .regex(
      prefixPattern,
      'expected letters, digits, ":", "_" or "-", optionally starting with a hash tag such as {kiln}',
    )
    .optional(),
  KILN_REGISTRY: registryRef.optional(),
  KILN_REGISTRY_USERNAME: z.string().optional(),
  KILN_REGISTRY_PASSWORD: z.string().optional(),
  KILN_REGISTRY_INSECURE: z.string().optional(),
  KILN_SIGNING_KEY: z.string().optional(),
  KILN_SIGNING_KEY_PASSWORD: z.string().optional(),
  KILN_ALLOW_UNSIGNED: bool.optional(),
  GITHUB_TOKEN: z.string().optional(),
  KILN_GITHUB_API_URL: url.optional(),
  KILN_GITHUB_WEBHOOK_SECRET: z.string().optional(),
  KILN_API_TOKEN: z.string().optional(),
  KILN_DEBIAN_MIRROR: urlList.optional(),
  KILN_DEBIAN_SECURITY_MIRROR: urlList.optional(),
  KILN_DEBIAN_KEYRING: z.string().optional(),
  KILN_NPM_REGISTRY: url.optional(),
  KILN_PYPI_URL: url.optional(),
  KILN_CRATES_URL: url.optional(),
  KILN_GOPROXY: url.optional(),
  KILN_VULN_FEED: vulnFeed.optional(),
  KILN_CACHE_DIR: z.string().optional(),
  KILN_STATE_DIR: z.string().optional(),
  KILN_RECIPES_DIR: z.string().optional(),
  KILN_LOG_LEVEL: level.optional(),
  KILN_CONCURRENCY: int(1, 256).optional(),
  KILN_BUILD_TIMEOUT: duration.optional(),
  KILN_POLL_INTERVAL: duration.optional(),
  KILN_RECONCILE_INTERVAL: duration
    .pipe(z.number().min(1000, 'expected at least 1s, e.g. 15m'))
    .optional(),
  KILN_STALE_AFTER: duration.optional(),
  KILN_API_HOST: z.string().optional(),
  KILN_API_PORT: int(0, 65535).optional(),
  KILN_DOCKERFILE_BACKEND: z.enum(['buildah', 'buildkit']).optional(),
  KILN_BUILDKIT_ADDR: z.string().optional(),
  KILN_KEEP_FAILED_BUILDS: bool.optional(),
  SOURCE_DATE_EPOCH: int(0, 253402300799).optional(),
} as const;

export type KilnEnvName = keyof typeof envSchema;

/** kiln's typed configuration. Built once at start-up by {@link loadConfig}. */
export interface Config {
  /** Redis for BullMQ and caches; undefined means `kiln up` starts its own. */
  redisUrl: string | undefined;
  /**
   * Prefix of every kiln key (BullMQ's and kiln's own), so several installations can share one
   * Redis. On a Redis Cluster it is a hash tag (`{kiln}`): every key in one slot.
   */
  queuePrefix: string;
  /** Where images are pushed: `host[:port]/namespace`; undefined means `kiln up` starts its own. */
  registry: string | undefined;
  registryAuth: { username: string; password: string } | undefined;
  /** Registry hosts reached over plain HTTP besides loopback ones. */
  insecureRegistries: string[];
  signingKey: string | undefined;
  signingKeyPassword: string | undefined;
  allowUnsigned: boolean;
  githubToken: string | undefined;
  githubApiUrl: string;
  githubWebhookSecret: string | undefined;
  apiToken: string | undefined;
  /** Debian mirrors, tried in order; undefined means the host's apt sources. */
  debianMirror: string[] | undefined;
  debianSecurityMirror: string[] | undefined;
  debianKeyring: string | undefined;
  /** npm registry; undefined means the host's npm configuration. */
  npmRegistry: string | undefined;
  pypiUrl: string | undefined;
  cratesUrl: string | undefined;
  goproxy: string | undefined;
  /** The vulnerability feed `kiln scan` reads; undefined means none is configured. */
  vulnFeed: z.output<typeof vulnFeed> | undefined;
  cacheDir: string;
  stateDir: string;
  recipesDir: string;
  logLevel: z.infer<typeof level>;
  concurrency: number;
  buildTimeoutMs: number;
  pollIntervalMs: number;
  /** How often every recipe is planned against the registry, changed upstream or not. */
  reconcileIntervalMs: number;
  staleAfterMs: number;
  apiHost: string;
  apiPort: number;
  dockerfileBackend: 'buildah' | 'buildkit';
  buildkitAddr: string | undefined;
  /** Keep a failed build's work folder (for debugging) instead of removing it. */
  keepFailedBuilds: boolean;
  /** Timestamp for reproducible builds; undefined means "derive from the inputs". */
  sourceDateEpoch: number | undefined;
}

/** Reads and validates kiln's environment; throws a {@link ConfigError} naming each bad variable. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  return configFrom(parsedEnv(env));
}

type ParsedEnv = { [K in KilnEnvName]?: z.output<(typeof envSchema)[K]> };

/** Each set variable through its schema, and the rules across variables; every problem at once. */
function parsedEnv(env: NodeJS.ProcessEnv): ParsedEnv {
  const problems: string[] = [];
  const parsed: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(envSchema)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const result = schema.safeParse(raw);
    if (result.success) parsed[name] = result.data;
    else problems.push(`${name}: ${result.error.issues[0]?.message ?? 'invalid value'}`);
  }
  const e = parsed as ParsedEnv;
  if ((e.KILN_REGISTRY_USERNAME === undefined) !== (e.KILN_REGISTRY_PASSWORD === undefined)) {
    problems.push('KILN_REGISTRY_USERNAME: set together with KILN_REGISTRY_PASSWORD, or neither');
  }
  if (e.KILN_DOCKERFILE_BACKEND === 'buildkit' && !e.KILN_BUILDKIT_ADDR) {
    problems.push('KILN_BUILDKIT_ADDR: required when KILN_DOCKERFILE_BACKEND=buildkit');
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return e;
}

/** The config from checked variables: defaults filled in, paths made absolute. */
function configFrom(e: ParsedEnv): Config {
  const home = os.homedir();
  const stateDir = path.resolve(e.KILN_STATE_DIR ?? '.kiln');
  return {
    redisUrl: e.KILN_REDIS_URL,
    queuePrefix: queuePrefixFor(e.KILN_REDIS_URL, e.KILN_QUEUE_PREFIX ?? 'kiln'),
    registry: e.KILN_REGISTRY,
    registryAuth:
      e.KILN_REGISTRY_USERNAME !== undefined && e.KILN_REGISTRY_PASSWORD !== undefined
        ? { username: e.KILN_REGISTRY_USERNAME, password: e.KILN_REGISTRY_PASSWORD }
        : undefined,
    insecureRegistries: (e.KILN_REGISTRY_INSECURE ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    signingKey: e.KILN_SIGNING_KEY,
    signingKeyPassword: e.KILN_SIGNING_KEY_PASSWORD,
    allowUnsigned: e.KILN_ALLOW_UNSIGNED ?? false,
    githubToken: e.GITHUB_TOKEN,
    githubApiUrl: (e.KILN_GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, ''),
    githubWebhookSecret: e.KILN_GITHUB_WEBHOOK_SECRET,
    apiToken: e.KILN_API_TOKEN,
    debianMirror: e.KILN_DEBIAN_MIRROR,
    debianSecurityMirror: e.KILN_DEBIAN_SECURITY_MIRROR,
    debianKeyring: e.KILN_DEBIAN_KEYRING,
    npmRegistry: e.KILN_NPM_REGISTRY,
    pypiUrl: e.KILN_PYPI_URL,
    cratesUrl: e.KILN_CRATES_URL,
    goproxy: e.KILN_GOPROXY,
    vulnFeed: e.KILN_VULN_FEED,
    cacheDir: path.resolve(e.KILN_CACHE_DIR ?? path.join(home, '.cache', 'kiln')),
    stateDir,
    recipesDir: path.resolve(e.KILN_RECIPES_DIR ?? 'recipes'),
    logLevel: e.KILN_LOG_LEVEL ?? 'info',
    concurrency: e.KILN_CONCURRENCY ?? Math.max(1, Math.min(4, os.availableParallelism())),
    buildTimeoutMs: e.KILN_BUILD_TIMEOUT ?? 30 * 60_000,
    pollIntervalMs: e.KILN_POLL_INTERVAL ?? 5 * 60_000,
    reconcileIntervalMs: e.KILN_RECONCILE_INTERVAL ?? 15 * 60_000,
    staleAfterMs: e.KILN_STALE_AFTER ?? 24 * 3_600_000,
    apiHost: e.KILN_API_HOST ?? '127.0.0.1',
    apiPort: e.KILN_API_PORT ?? 8080,
    dockerfileBackend: e.KILN_DOCKERFILE_BACKEND ?? 'buildah',
    buildkitAddr: e.KILN_BUILDKIT_ADDR,
    keepFailedBuilds: e.KILN_KEEP_FAILED_BUILDS ?? false,
    sourceDateEpoch: e.SOURCE_DATE_EPOCH,
  };
}

/** On a Redis Cluster the prefix is braced when the user did not: kiln's keys share one slot. */
function queuePrefixFor(redisUrl: string | undefined, prefix: string): string {
  return redisUrl && parseRedisUrl(redisUrl).kind === 'cluster' ? hashTagged(prefix) : prefix;
}

/** The names of every variable kiln reads, for the README's table and `kiln --help`. */
export const configVariables = Object.keys(envSchema) as KilnEnvName[];

/**
 * Every secret the configuration and environment hold, for the logger to mask (src/log.ts
 * `registerSecrets`) at start-up: tokens, passwords, an inline signing key and each
 * KILN_SECRET_* build secret. The password in KILN_REDIS_URL is registered where the URL is
 * parsed (src/queue/redis-url.ts), which loading the configuration does.
 */
export function configSecrets(config: Config, env: NodeJS.ProcessEnv = process.env): string[] {
  const out = [
    config.githubToken,
    config.githubWebhookSecret,
    config.apiToken,
    config.registryAuth?.password,
    config.signingKeyPassword,
    config.signingKey?.includes('-----BEGIN') ? config.signingKey : undefined,
    ...Object.entries(env)
      .filter(([name]) => name.startsWith('KILN_SECRET_'))
      .map(([, value]) => value),
  ];
  return out.filter((v): v is string => v !== undefined && v !== '');
}
