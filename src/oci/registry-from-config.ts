import type { Config } from '../config.ts';
import { registerSecret } from '../log.ts';
import { dockerConfigCredentials } from './docker-config.ts';
import { parseReference, type ImageReference } from './reference.ts';
import { RegistryClient, type RegistryClientOptions } from './registry-client.ts';

/**
 * A client for `host` with kiln's configuration: KILN_REGISTRY_USERNAME/PASSWORD when set,
 * otherwise the Docker config.json entry for the host; plain HTTP only for loopback hosts and
 * those in KILN_REGISTRY_INSECURE.
 */
export async function registryClientFor(
  host: string,
  config: Pick<Config, 'registryAuth' | 'insecureRegistries'>,
  extra: Partial<RegistryClientOptions> = {},
): Promise<RegistryClient> {
  const credentials = config.registryAuth ?? (await dockerConfigCredentials(host));
  registerSecret(credentials?.password);
  return new RegistryClient({
    host,
    ...(credentials ? { credentials } : {}),
    insecure: config.insecureRegistries.includes(host),
    ...extra,
  });
}

/** Splits KILN_REGISTRY (`host[:port]/namespace`) into the host and the repository prefix. */
export function splitRegistry(registry: string): { host: string; namespace: string } {
  const slash = registry.indexOf('/');
  return slash < 0
    ? { host: registry, namespace: '' }
    : { host: registry.slice(0, slash), namespace: registry.slice(slash + 1) };
}

/**
 * Parses an image reference the way kiln's commands take it: a reference without a registry host
 * is read relative to KILN_REGISTRY, namespace included (`python:3` → `host/kiln/python:3`).
 */
export function resolveImageReference(ref: string, registry: string | undefined): ImageReference {
  const parsed = parseReference(ref, registry ? splitRegistry(registry).host : undefined);
  if (!registry || ref.startsWith(`${parsed.host}/`)) return parsed;
  const { namespace } = splitRegistry(registry);
  return namespace ? { ...parsed, repository: `${namespace}/${parsed.repository}` } : parsed;
}
