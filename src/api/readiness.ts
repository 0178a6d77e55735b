import type { RedisClient } from '../queue/connection.ts';
import type { Config } from '../config.ts';
import { isLoopbackHost } from '../oci/reference.ts';

/** Something that can tell whether the registry answers; the OCI registry client satisfies it. */
export interface RegistryProbe {
  /** Resolves when the registry's `/v2/` endpoint answers, rejects with the reason otherwise. */
  ping(): Promise<void>;
}

/**
 * The default probe: `GET /v2/` on KILN_REGISTRY's host. 200 and 401 both mean "up" (401 is
 * the registry asking for credentials, which the API does not need to check readiness).
 */
export function registryProbeFromConfig(
  config: Pick<Config, 'registry' | 'insecureRegistries'>,
  timeoutMs = 2000,
): RegistryProbe | undefined {
  if (!config.registry) return undefined;
  const host = config.registry.split('/')[0]!;
  const plain = isLoopbackHost(host) || config.insecureRegistries.includes(host);
  const url = `${plain ? 'http' : 'https'}://${host}/v2/`;
  return {
    async ping() {
      const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
      await res.body?.cancel();
      if (res.status !== 200 && res.status !== 401)
        throw new Error(`GET ${url} answered ${res.status}`);
    },
  };
}

export interface CheckResult {
  ok: boolean;
  /** Why not, for a person: the first line of the error. */
  error?: string;
}

/** Redis and the registry, each with a deadline so a hung dependency fails the probe instead of hanging it. */
export async function checkReadiness(
  redis: RedisClient,
  registry: RegistryProbe | undefined,
  timeoutMs = 2000,
): Promise<{ ready: boolean; checks: Record<string, CheckResult> }> {
  const [redisCheck, registryCheck] = await Promise.all([
    check(() => redis.ping().then(() => undefined), timeoutMs),
    registry
      ? check(() => registry.ping(), timeoutMs)
      : Promise.resolve<CheckResult>({
          ok: false,
          error: 'no registry configured (KILN_REGISTRY)',
        }),
  ]);
  return {
    ready: redisCheck.ok && registryCheck.ok,
    checks: { redis: redisCheck, registry: registryCheck },
  };
}

async function check(fn: () => Promise<void>, timeoutMs: number): Promise<CheckResult> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([fn(), deadline]);
    return { ok: true };
  } catch (error) {
    return {
      ok: false,
      error: error instanceof Error ? error.message.split('\n')[0] : String(error),
    };
  } finally {
    clearTimeout(timer);
  }
}
