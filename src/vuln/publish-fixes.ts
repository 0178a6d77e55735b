import { readFile } from 'node:fs/promises';
import { blobPath } from '../debian/deb-cache.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { BuildResult } from '../model/build-result.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { packagesOfRegistryImage, parseDebPurl } from './image-registry.ts';
import { nanoUpdateFixes, type ChangedPackage, type NanoUpdateFixes } from './nano-fixes.ts';

/*
 * What a nano update fixed, at publish time: the packages that changed since the previous epoch
 * (its SPDX attestation in the registry, the source of truth), and for each the new .deb the
 * build fetched into the Debian package cache (content-addressed by the sha256 the lockfile
 * gave), whose changelog names the CVEs (nano-fixes.ts). A .deb missing from this machine's
 * cache (the build ran elsewhere) is reported without a changelog: CVEs unknown, not none.
 */

export interface PublishFixesInput {
  client: RegistryClient;
  /** The repository's path on the registry (namespace included). */
  repository: string;
  request: BuildRequest;
  builds: readonly BuildResult[];
  /** KILN_CACHE_DIR: where the debian builder keeps the .debs. */
  cacheDir: string;
  log?: Logger;
}

/** The fixes of a nano update (epoch > 0); undefined at `-r0` or when no previous image is found. */
export async function nanoFixesForPublish(
  input: PublishFixesInput,
): Promise<NanoUpdateFixes | undefined> {
  const { request, client } = input;
  if (request.epoch === 0) return undefined;
  const previousTag = previousExactTag(request);
  const previous = await packagesOfRegistryImage(
    client,
    { host: client.host, repository: input.repository, tag: previousTag },
    undefined,
  ).catch((error: unknown) => {
    input.log?.warn(
      { repository: input.repository, tag: previousTag, err: describeError(error) },
      'no previous epoch to compare with: the nano update’s fixes are not listed',
    );
    return undefined;
  });
  if (!previous) return undefined;
  const before = new Map(previous.packages.map((p) => [`${p.name} ${p.arch ?? ''}`, p.version]));
  const changed: ChangedPackage[] = [];
  const seen = new Set<string>();
  for (const p of input.builds.flatMap((b) => b.packages)) {
    const deb = parseDebPurl(p.purl);
    const from = deb && before.get(`${deb.name} ${deb.arch ?? ''}`);
    if (!deb || from === undefined || from === deb.version) continue;
    if (seen.has(`${deb.name} ${deb.version}`)) continue;
    seen.add(`${deb.name} ${deb.version}`);
    const bytes = p.digest ? await cachedDeb(input.cacheDir, p.digest) : undefined;
    changed.push({ name: deb.name, from, to: deb.version, purl: p.purl, deb: bytes });
  }
  changed.sort((a, b) => a.name.localeCompare(b.name));
  return nanoUpdateFixes(changed);
}

/**
 * The exact tag of the epoch before: the planner's exact tag (`tags[0]`, the version in tag text:
 * `1.26.3-3_deb13u10-r2`, a variant's `-dev` after) with the epoch one lower. Never the raw
 * version, whose `+` (every Debian security version has one) is no tag character.
 */
export function previousExactTag(
  request: Pick<BuildRequest, 'tags' | 'version' | 'epoch'>,
): string {
  const exact = request.tags[0];
  const match = exact
    ? new RegExp(`^(.+)-r${request.epoch}((?:-[a-z][a-z0-9]*)?)$`).exec(exact)
    : null;
  if (match) return `${match[1]}-r${request.epoch - 1}${match[2]}`;
  return `${request.version.replace(/[^A-Za-z0-9_.-]/g, '_')}-r${request.epoch - 1}`;
}

async function cachedDeb(cacheDir: string, digest: string): Promise<Buffer | undefined> {
  const hex = digest.replace(/^sha256:/, '');
  return readFile(blobPath(cacheDir, hex)).catch(() => undefined);
}
