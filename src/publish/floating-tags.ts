import type { Logger } from '../log.ts';
import { annotationsOf } from '../oci/manifest-schema.ts';
import { Annotation, MediaType } from '../oci/media-types.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import { compare, valid, type SchemeId } from '../versioning/scheme.ts';

export interface ImageVersion {
  version: string;
  epoch: number;
}

export interface TagMove {
  tag: string;
  outcome: 'moved' | 'unchanged' | 'held';
  /** For `held`: the version the tag keeps pointing at, or why it was not moved. */
  reason?: string;
}

/** Orders (version, epoch) pairs in a scheme; a version the scheme cannot read sorts lowest. */
export function compareImageVersions(scheme: SchemeId, a: ImageVersion, b: ImageVersion): number {
  const va = valid(scheme, a.version);
  const vb = valid(scheme, b.version);
  if (va !== vb) return va ? 1 : -1;
  const byVersion = va ? compare(scheme, a.version, b.version) : 0;
  return byVersion !== 0 ? byVersion : a.epoch - b.epoch;
}

/** The version and epoch an image index records in its annotations, if it records them. */
export function versionOf(annotations: Record<string, string>): ImageVersion | undefined {
  const version = annotations[Annotation.version];
  if (!version) return undefined;
  const epoch = Number(annotations[Annotation.epoch] ?? 0);
  return { version, epoch: Number.isInteger(epoch) ? epoch : 0 };
}

/**
 * Points each floating tag at `indexBytes` unless the registry's current target is a newer
 * version: the registry, not the plan, has the last word, so two publishes racing or a backport
 * published after a newer release can never move a tag backwards. A tag whose current target
 * carries no kiln version is held too: kiln does not overwrite images it cannot order.
 */
export async function moveFloatingTags(
  client: RegistryClient,
  repository: string,
  tags: string[],
  image: { digest: string; bytes: Buffer; version: ImageVersion },
  scheme: SchemeId,
  log?: Logger,
): Promise<TagMove[]> {
  const moves: TagMove[] = [];
  for (const tag of tags) {
    // HEAD first: an unchanged tag (the common case on a re-run) costs no body.
    const head = await client.headManifest(repository, tag);
    if (head?.digest === image.digest) {
      moves.push({ tag, outcome: 'unchanged' });
      continue;
    }
    const current = head ? await client.getManifest(repository, tag) : undefined;
    if (current) {
      const theirs = versionOf(annotationsOf(current.bytes));
      if (!theirs) {
        moves.push({
          tag,
          outcome: 'held',
          reason: `${current.digest} has no kiln version annotations`,
        });
        log?.warn(
          { repository, tag, current: current.digest },
          'floating tag points at an image without a version; not moved',
        );
        continue;
      }
      if (compareImageVersions(scheme, image.version, theirs) <= 0) {
        moves.push({
          tag,
          outcome: 'held',
          reason: `already at ${theirs.version}-r${theirs.epoch}`,
        });
        log?.info(
          { repository, tag, current: `${theirs.version}-r${theirs.epoch}` },
          'floating tag already at a newer version; not moved',
        );
        continue;
      }
    }
    await client.putManifest(repository, tag, image.bytes, MediaType.imageIndex);
    moves.push({ tag, outcome: 'moved' });
  }
  return moves;
}
