import { contentsOf } from '../build/debian/resolve.ts';
import type { Config } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { BuildResult } from '../model/build-result.ts';
import type { Recipe } from '../recipe/schema.ts';
import { releaseOfRecipe } from './catalog-scan.ts';
import { loadFeed } from './feed.ts';
import { parseDebPurl } from './image-registry.ts';
import { sourceOf } from './installed.ts';
import { notAffectedCves, type ImagePackage, type NotAffectedCve } from './not-affected.ts';
import { sourceBinariesFor } from './source-binaries.ts';

/*
 * The feed CVEs a new image is not affected by, at publish time, for its OpenVEX attestation:
 * KILN_VULN_FEED loaded for the image's source packages, judged against the recipe's release
 * (not-affected.ts). The Packages index of that release (the debian builder's cached indexes)
 * is loaded only when a record names affected binaries: it says which binaries each source
 * builds, so a record's names are confirmed before kiln claims their absence.
 * Without KILN_VULN_FEED, or when the feed cannot be read, there are none (logged): the image
 * is still published, its VEX saying only what its changelogs fixed.
 */

export interface PublishVexInput {
  config: Pick<
    Config,
    'vulnFeed' | 'cacheDir' | 'debianMirror' | 'debianSecurityMirror' | 'debianKeyring'
  >;
  recipe: Recipe;
  builds: readonly BuildResult[];
  log?: Logger;
}

/** The Debian packages of a build, with the source (and its exact version) the builder recorded. */
export function imagePackagesOfBuilds(builds: readonly BuildResult[]): ImagePackage[] {
  return builds.flatMap((b) =>
    b.packages.flatMap((p) => {
      const deb = parseDebPurl(p.purl);
      if (!deb) return [];
      const field = p.sourcePackage
        ? `${p.sourcePackage}${p.sourceVersion ? ` (${p.sourceVersion})` : ''}`
        : undefined;
      return [
        {
          name: deb.name,
          version: deb.version,
          arch: deb.arch,
          purl: p.purl,
          ...sourceOf(deb.name, deb.version, field),
        },
      ];
    }),
  );
}

export async function notAffectedForPublish(input: PublishVexInput): Promise<NotAffectedCve[]> {
  const { config, recipe, log } = input;
  if (!config.vulnFeed || recipe.build.builder !== 'debian') return [];
  const packages = imagePackagesOfBuilds(input.builds);
  const release = releaseOfRecipe(recipe, packages);
  if (!release || packages.length === 0) return [];
  try {
    const wanted = new Set(packages.map((p) => p.source));
    const { feed } = await loadFeed(config.vulnFeed, config.cacheDir, wanted);
    const contents = contentsOf(recipe);
    const sourceBinaries = await sourceBinariesFor(feed, release, {
      config,
      suites: contents.suites,
      components: contents.components,
      archs: input.builds.map((b) => b.arch),
    });
    return notAffectedCves({ packages, feed, release, sourceBinaries });
  } catch (error) {
    log?.warn(
      { recipe: recipe.name, err: describeError(error) },
      'the vulnerability feed could not be read: the OpenVEX attestation has no not_affected statements',
    );
    return [];
  }
}
