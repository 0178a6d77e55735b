import type { KeyObject } from 'node:crypto';
import path from 'node:path';
import type { Config } from '../config.ts';
import { describeError, PermanentError } from '../errors.ts';
import { registryClientFor, resolveImageReference } from '../oci/registry-from-config.ts';
import { loadFeed, type FeedOrigin } from './feed.ts';
import { isOciLayout, packagesOfLayout, type ImagePackages } from './image-layout.ts';
import { packagesOfRegistryImage } from './image-registry.ts';
import { installedSources, summarise, type Finding, type FindingSummary } from './match.ts';
import type { Refusal, VulnFeed } from './model.ts';
import { judgeFeed, type NotAffectedFinding, type SourceBinaries } from './not-affected.ts';
import { isKnownRelease } from './releases.ts';
import { archsOf, sourceBinariesFor, type IndexConfig } from './source-binaries.ts';

export interface ScanOptions {
  /** An OCI layout folder (`oci:DIR` or a path), or an image reference. */
  target: string;
  config: Pick<Config, 'vulnFeed' | 'registry' | 'registryAuth' | 'insecureRegistries'> &
    IndexConfig;
  /** The Debian release to judge against, when the image does not say. */
  release?: string;
  /** The platform to scan in a multi-arch layout. */
  arch?: string;
  /** Verify the SBOM attestation of a registry image with this key. */
  publicKey?: KeyObject;
}

export interface ScanReport {
  image: string;
  digest: string;
  size: number;
  from: ImagePackages['from'];
  release: string;
  packages: number;
  sourcePackages: number;
  feed: FeedOrigin & { refused: number; refusals: Refusal[] };
  /** Open CVEs only: the not-affected ones are not counted. */
  summary: FindingSummary;
  findings: Finding[];
  /** CVEs the image is not affected by, with the reason (the same verdicts as its OpenVEX). */
  notAffected: NotAffectedFinding[];
  /** Why no `binaries-absent` verdict could be made, when the Packages index was needed and failed. */
  warnings: string[];
}

/** Reads the image's packages, the feed for their source packages, and matches them. */
export async function scanImage(options: ScanOptions): Promise<ScanReport> {
  const { config } = options;
  if (!config.vulnFeed)
    throw new PermanentError('no vulnerability feed: set KILN_VULN_FEED to a URL or a file');
  const image = await readImage(options);
  const release = options.release ?? image.release;
  if (!release)
    throw new PermanentError(
      `${image.image}: cannot tell its Debian release (no os-release, debian_version or debNNuM versions); pass --release <codename>`,
    );
  if (!isKnownRelease(release)) throw new PermanentError(`unknown Debian release "${release}"`);
  const sources = installedSources(image.packages);
  const { feed, origin } = await loadFeed(
    config.vulnFeed,
    config.cacheDir,
    new Set(sources.map((s) => s.source)),
  );
  const warnings: string[] = [];
  const sourceBinaries = await scanSourceBinaries(feed, release, image, config, warnings);
  const { findings, notAffected } = judgeFeed({
    packages: image.packages,
    feed,
    release,
    sourceBinaries,
  });
  return {
    image: image.image,
    digest: image.digest,
    size: image.size,
    from: image.from,
    release,
    packages: image.packages.length,
    sourcePackages: sources.length,
    feed: { ...origin, refused: feed.refused, refusals: feed.refusals },
    summary: summarise(findings),
    findings,
    notAffected,
    warnings,
  };
}

/**
 * The Packages index of the release's main and security suites (`trixie`, `trixie-security`,
 * component main), when a record names affected binaries: a scan knows no recipe, so it reads
 * the suites an image of that release reads. One that cannot be loaded gives no claims.
 */
async function scanSourceBinaries(
  feed: VulnFeed,
  release: string,
  image: ImagePackages,
  config: IndexConfig,
  warnings: string[],
): Promise<SourceBinaries | undefined> {
  try {
    return await sourceBinariesFor(feed, release, {
      config,
      suites: [release, `${release}-security`],
      components: ['main'],
      archs: archsOf(image.packages),
    });
  } catch (error) {
    warnings.push(
      `the Packages index of ${release} could not be read, so CVEs whose affected binaries the image lacks count as open: ${describeError(error)}`,
    );
    return undefined;
  }
}

async function readImage(options: ScanOptions): Promise<ImagePackages> {
  const target = options.target;
  const dir = target.startsWith('oci:') ? target.slice(4).replace(/:[^/]*$/, '') : target;
  if (target.startsWith('oci:') || target.startsWith('.') || target.startsWith('/')) {
    if (!(await isOciLayout(dir)))
      throw new PermanentError(`${dir}: not an OCI image layout (no oci-layout file)`);
    return packagesOfLayout(path.resolve(dir), options.arch);
  }
  if (await isOciLayout(dir)) return packagesOfLayout(path.resolve(dir), options.arch);
  const ref = resolveImageReference(target, options.config.registry);
  const client = await registryClientFor(ref.host, options.config);
  return packagesOfRegistryImage(client, ref, options.publicKey, options.arch);
}
