import pLimit from 'p-limit';
import { annotationsOf } from '../oci/manifest-schema.ts';
import { Annotation } from '../oci/media-types.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import type { PublishedImage } from '../plan/published-state.ts';
import { looksLikeBuildTag, tagText } from '../plan/tags.ts';
import { isSupplementTag } from '../sign/cosign-objects.ts';

/**
 * What a repository holds, for the planner: one entry per image digest that a version tag points
 * at, with the version, epoch and inputs digest from its annotations and every tag on it. Images
 * without kiln's annotations (pushed by something else) are left out. The registry is the source
 * of truth; callers may cache this, never replace it.
 *
 * A repository holds a recipe's main image and its variants (`-dev`): `suffix` picks one, and an
 * image belongs to it when its own exact tag (`X.Y.Z-rN` + suffix) is on it. Build tags
 * (`X.Y.Z-rN-<yyyymmddhhmm>`) are not listed among an image's tags: they never move.
 */
export async function readPublishedState(
  client: RegistryClient,
  repository: string,
  options: { suffix?: string } = {},
): Promise<PublishedImage[]> {
  const suffix = options.suffix ?? '';
  const tags = (await client.listTags(repository)).filter((t) => !isSupplementTag(t));
  const limit = pLimit(8);
  const heads = await Promise.all(
    tags.map((tag) =>
      limit(async () => ({ tag, head: await client.headManifest(repository, tag) })),
    ),
  );
  const byDigest = new Map<string, string[]>();
  for (const { tag, head } of heads) {
    if (!head) continue;
    byDigest.set(head.digest, [...(byDigest.get(head.digest) ?? []), tag]);
  }
  const images = await Promise.all(
    [...byDigest].map(([digest, digestTags]) =>
      limit(async (): Promise<PublishedImage | undefined> => {
        const manifest = await client.getManifest(repository, digest);
        if (!manifest) return undefined;
        const a = annotationsOf(manifest.bytes);
        const version = a[Annotation.version];
        const inputsDigest = a[Annotation.inputsDigest];
        if (!version || !inputsDigest) return undefined;
        const parsed = Number(a[Annotation.epoch] ?? 0);
        const epoch = Number.isInteger(parsed) ? parsed : 0;
        if (!digestTags.includes(`${tagText(version)}-r${epoch}${suffix}`)) return undefined;
        return {
          version,
          epoch,
          inputsDigest,
          tags: digestTags.filter((t) => !looksLikeBuildTag(t)).sort(),
          digest,
        };
      }),
    ),
  );
  return images
    .filter((i): i is PublishedImage => i !== undefined)
    .sort((a, b) => a.digest.localeCompare(b.digest));
}
