import type { LoadedRecipe } from '../recipe/load.ts';
import type { BuildRequest, PriorityName } from '../model/build-request.ts';
import { schemeOf } from '../versioning/scheme.ts';
import { inStream } from '../versioning/streams.ts';
import type { Candidate, Selection, StreamSelection } from '../versioning/select.ts';
import type { Resolved } from '../model/resolved.ts';
import { findPublished, nextEpoch } from './epoch.ts';
import type { PublishedImage } from './published-state.ts';
import { tagSuffix } from '../recipe/variants.ts';
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
  resolvedOf?: ((version: string) => Resolved | undefined) | undefined;
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

/** What every phase of one stream's decision reads. */
interface StreamView {
  input: PlanRecipeInput;
  s: StreamSelection;
  scheme: ReturnType<typeof schemeOf>;
  /** The recipe's published images in this stream. */
  mine: PublishedImage[];
  base: Pick<DecisionBase, 'recipe' | 'stream' | 'published' | 'candidate'>;
  /** The newest release the cooldown still holds, if any. */
  newest: Candidate | undefined;
  coolingNote: (c: Candidate) => string;
}

/** One stream's decision, in phases: nothing selected, something newer published, same inputs published, build. */
function decideStream(
  input: PlanRecipeInput,
  s: StreamSelection,
  known: string[],
  highestStream: boolean,
): Decision {
  const view = streamView(input, s);
  const candidate = s.selected;
  if (!candidate) return nothingSelected(view);
  const digest = input.digestOf(s, candidate);
  const newer = newerPublished(view, candidate.version);
  if (newer) return newer;
  const same = samePublished(view, candidate.version, digest);
  if (same) return same;
  return buildDecision(view, candidate, digest, known, highestStream);
}

function streamView(input: PlanRecipeInput, s: StreamSelection): StreamView {
  const { recipe } = input.loaded;
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
  return {
    input,
    s,
    scheme,
    mine,
    base: {
      recipe: recipe.name,
      stream: s.stream.name,
      published: top ? `${top.version}-r${top.epoch}` : undefined,
      candidate: s.selected?.version,
    },
    newest: s.cooling[0],
    coolingNote: (c) =>
      `${c.version} is held by the ${recipe.versions.cooldown ?? ''} cooldown until ${c.eligibleAt ?? '?'}`,
  };
}

/** No release is selected: held by the cooldown, or none matches the stream's range. */
function nothingSelected(view: StreamView): Decision {
  const { base, newest } = view;
  if (newest)
    return {
      ...base,
      kind: 'held',
      heldVersion: newest.version,
      until: newest.eligibleAt ?? '',
      reason: view.coolingNote(newest),
    };
  return {
    ...base,
    kind: 'error',
    reason: `no released version matches ${JSON.stringify(view.s.stream.range)}`,
  };
}

/** A newer version than upstream's is published in the stream: nothing older is rebuilt. */
function newerPublished(view: StreamView, version: string): Decision | undefined {
  const { scheme } = view;
  const newer = view.mine.filter((p) => scheme.compare(p.version, version) > 0);
  if (newer.length === 0) return undefined;
  const v = newer.map((p) => p.version).sort((a, b) => scheme.compare(b, a))[0] ?? '';
  return {
    ...view.base,
    kind: 'up-to-date',
    version: v,
    epoch: Math.max(...newer.filter((p) => p.version === v).map((p) => p.epoch)),
    tags: [],
    reason: `published ${v} is newer than upstream's ${version}; nothing older is rebuilt`,
  };
}

/** The version is published with the same inputs: up to date (or held, if a newer one cools). */
function samePublished(view: StreamView, version: string, digest: string): Decision | undefined {
  const same = findPublished(view.mine, version, digest);
  if (!same) return undefined;
  const { base, newest } = view;
  if (newest)
    return {
      ...base,
      kind: 'held',
      version,
      heldVersion: newest.version,
      until: newest.eligibleAt ?? '',
      reason: `up to date at ${version}-r${same.epoch}; ${view.coolingNote(newest)}`,
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

/** A build: a new upstream version at -r0, or changed inputs at the next epoch. */
function buildDecision(
  view: StreamView,
  candidate: Candidate,
  digest: string,
  known: string[],
  highestStream: boolean,
): Decision {
  const { input, s, scheme, newest } = view;
  const { recipe, file } = input.loaded;
  const version = candidate.version;
  const epoch = nextEpoch(input.published, version, digest);
  const isNew = epoch === 0;
  const previous = input.published.filter((p) => p.version === version).map((p) => p.epoch);
  const reason = isNew
    ? `new upstream ${version}`
    : `inputs changed for ${version} (r${Math.max(...previous)} → r${epoch})`;
  const priority: PriorityName = isNew ? 'upstream' : 'routine';
  const tags = computeTags({
    version,
    epoch,
    scheme: scheme.id,
    known,
    highestStream,
    policy: recipe.publish.tags,
    // A variant's tags carry its suffix: `1.2.3-r0-dev`, `latest-dev`.
    suffix: tagSuffix(recipe),
  });
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
    reason: newest ? `${reason}; ${view.coolingNote(newest)}` : reason,
    upstream: upstreamOf(candidate),
    resolved: input.resolvedOf?.(version),
    requestedAt: input.now.toISOString(),
  };
  return { ...view.base, kind: 'build', version, epoch, tags, request, reason: request.reason };
}

function upstreamOf(candidate: Candidate): BuildRequest['upstream'] {
  return {
    tag: candidate.tag,
    url: candidate.release.url,
    releasedAt: candidate.publishedAt,
    ...(candidate.release.publishedAtSource
      ? { releasedAtSource: candidate.release.publishedAtSource }
      : {}),
  };
}
