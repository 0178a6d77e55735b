import type { LoadedRecipe } from '../recipe/load.ts';
import type { BuildRequest, PriorityName } from '../model/build-request.ts';
import { schemeOf } from '../versioning/scheme.ts';
import { inStream } from '../versioning/streams.ts';
import type { Candidate, Selection, StreamSelection } from '../versioning/select.ts';
import { findPublished, nextEpoch } from './epoch.ts';
import type { PublishedImage } from './published-state.ts';
import { computeTags } from './tags.ts';

interface DecisionBase {
  recipe: string;
  stream: string;
  /** The stream's highest published image, `X.Y.Z-rN`, if any. */
  published?: string | undefined;
  /** The upstream version the stream would build now (past filters and cooldown), if any. */
  candidate?: string | undefined;
  /** Why, for people. */
  reason: string;
}

/** What the planner concluded for one stream of one recipe. */
export type Decision =
  | (DecisionBase & {
      kind: 'build';
      version: string;
      epoch: number;
      tags: string[];
      request: BuildRequest;
    })
  | (DecisionBase & { kind: 'up-to-date'; version: string; epoch: number; tags: string[] })
  | (DecisionBase & {
      kind: 'held';
      version?: string | undefined;
      heldVersion: string;
      until: string;
    })
  | (DecisionBase & { kind: 'error' });

/** The inputs digest of building a candidate: computed by the caller (it may read files). */
export type DigestOf = (stream: StreamSelection, candidate: Candidate) => string;

export interface PlanRecipeInput {
  loaded: LoadedRecipe;
  selection: Selection;
  published: readonly PublishedImage[];
  digestOf: DigestOf;
  now: Date;
  /** Builder-resolved inputs of a version, handed to the build (the same that went into the digest). */
  resolvedOf?: ((version: string) => Record<string, unknown> | undefined) | undefined;
}

/**
 * Decides every stream of one recipe: build (with the BuildRequest), up to date, held by the
 * cooldown, or error. Pure. `latest` goes to the stream whose chosen version is highest; every
 * floating tag respects what is published and what the other streams are about to publish.
 */
export function planRecipe(input: PlanRecipeInput): Decision[] {
  const { recipe } = input.loaded;
  const scheme = schemeOf(recipe.versions.scheme);
  const chosen = input.selection.streams
    .map((s) => s.selected?.version)
    .filter((v): v is string => v !== undefined);
  const top = chosen.reduce<string | undefined>(
    (best, v) => (best === undefined || scheme.compare(v, best) > 0 ? v : best),
    undefined,
  );
  const publishedVersions = input.published
    .map((p) => p.version)
    .filter((v) => scheme.normalize(v) !== undefined);
  const known = [...new Set([...publishedVersions, ...chosen])];
  return input.selection.streams.map((s) =>
    decideStream(input, s, known, s.selected !== undefined && s.selected.version === top),
  );
}

function decideStream(
  input: PlanRecipeInput,
  s: StreamSelection,
  known: string[],
  highestStream: boolean,
): Decision {
  const { recipe, file } = input.loaded;
  const scheme = schemeOf(recipe.versions.scheme);
  const mine = input.published.filter(
    (p) => scheme.normalize(p.version) !== undefined && inStream(scheme, s.stream, p.version),
  );
  const top = mine.reduce<PublishedImage | undefined>(
    (a, p) =>
      a === undefined ||
      scheme.compare(p.version, a.version) > 0 ||
      (p.version === a.version && p.epoch > a.epoch)
        ? p
        : a,
    undefined,
  );
  const base = {
    recipe: recipe.name,
    stream: s.stream.name,
    published: top ? `${top.version}-r${top.epoch}` : undefined,
    candidate: s.selected?.version,
  };
  const coolingNote = (c: Candidate): string =>
    `${c.version} is held by the ${recipe.versions.cooldown ?? ''} cooldown until ${c.eligibleAt ?? '?'}`;
  const newest = s.cooling[0];
  const candidate = s.selected;
  if (!candidate) {
    if (newest)
      return {
        ...base,
        kind: 'held',
        heldVersion: newest.version,
        until: newest.eligibleAt ?? '',
        reason: coolingNote(newest),
      };
    return {
      ...base,
      kind: 'error',
      reason: `no released version matches ${JSON.stringify(s.stream.range)}`,
    };
  }
  const version = candidate.version;
  const inStreamImages = mine;
  const newerPublished = inStreamImages.filter((p) => scheme.compare(p.version, version) > 0);
  const digest = input.digestOf(s, candidate);
  const tagsFor = (epoch: number): string[] =>
    computeTags({
      version,
      epoch,
      scheme: scheme.id,
      known,
      highestStream,
      policy: recipe.publish.tags,
    });

  if (newerPublished.length > 0) {
    const v = newerPublished.map((p) => p.version).sort((a, b) => scheme.compare(b, a))[0] ?? '';
    return {
      ...base,
      kind: 'up-to-date',
      version: v,
      epoch: Math.max(...newerPublished.filter((p) => p.version === v).map((p) => p.epoch)),
      tags: [],
      reason: `published ${v} is newer than upstream's ${version}; nothing older is rebuilt`,
    };
  }
  const same = findPublished(inStreamImages, version, digest);
  if (same) {
    if (newest)
      return {
        ...base,
        kind: 'held',
        version,
        heldVersion: newest.version,
        until: newest.eligibleAt ?? '',
        reason: `up to date at ${version}-r${same.epoch}; ${coolingNote(newest)}`,
      };
    return {
      ...base,
      kind: 'up-to-date',
      version,
      epoch: same.epoch,
      tags: same.tags,
      reason: `${version}-r${same.epoch} is published with the same inputs`,
    };
  }
  const epoch = nextEpoch(input.published, version, digest);
  const isNew = epoch === 0;
  const previous = input.published.filter((p) => p.version === version).map((p) => p.epoch);
  const reason = isNew
    ? `new upstream ${version}`
    : `inputs changed for ${version} (r${Math.max(...previous)} → r${epoch})`;
  const priority: PriorityName = isNew ? 'upstream' : 'routine';
  const tags = tagsFor(epoch);
  const request: BuildRequest = {
    recipe: recipe.name,
    recipeFile: file,
    version,
    versionScheme: scheme.id,
    epoch,
    inputsDigest: digest,
    archs: [...recipe.build.archs],
    stream: s.stream.name,
    tags,
    repository: recipe.publish.repository ?? recipe.name,
    priority,
    reason: newest ? `${reason}; ${coolingNote(newest)}` : reason,
    upstream: {
      tag: candidate.tag,
      url: candidate.release.url,
      releasedAt: candidate.publishedAt,
      ...(candidate.release.publishedAtSource
        ? { releasedAtSource: candidate.release.publishedAtSource }
        : {}),
    },
    resolved: input.resolvedOf?.(version),
    requestedAt: input.now.toISOString(),
  };
  return { ...base, kind: 'build', version, epoch, tags, request, reason: request.reason };
}
