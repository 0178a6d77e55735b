import { parseDuration } from '../config.ts';
import { compileExtractor, type ExtractionOptions } from './extract.ts';
import type { UpstreamRelease } from './release.ts';
import { schemeOf, type SchemeId } from './scheme.ts';
import { normalizeStreams, streamMatcher, type Stream, type StreamSpec } from './streams.ts';

/** The recipe's `versions` block, as selection reads it. */
export interface VersionPolicy {
  scheme: SchemeId;
  streams?: StreamSpec[] | undefined;
  prereleases: boolean;
  /** Minimum release age, e.g. `6h`. */
  cooldown?: string | undefined;
}

export interface SelectOptions {
  versions: VersionPolicy;
  /** The recipe's `upstream` block (its extraction options are used). */
  upstream?: ExtractionOptions | undefined;
}

/** A release that survived extraction, with its normalised version. */
export interface Candidate {
  version: string;
  tag: string;
  prerelease: boolean;
  publishedAt?: string | undefined;
  /** When the cooldown ends; undefined when there is no cooldown or no publication time. */
  eligibleAt?: string | undefined;
  release: UpstreamRelease;
}

export interface StreamSelection {
  stream: Stream;
  /** The highest version of the stream that is allowed and past its cooldown. */
  selected?: Candidate | undefined;
  /** Allowed versions above `selected` still inside the cooldown, highest first. */
  cooling: Candidate[];
}

export interface Selection {
  streams: StreamSelection[];
  /** Every usable version, highest first, one per version. */
  candidates: Candidate[];
  /** Releases left out, with the reason (hostile tag, filtered, not a version, prerelease). */
  rejected: { tag: string; reason: string }[];
}

/**
 * Picks, for each stream, the version to build: extraction and filters, prerelease rules (the
 * upstream's flag counts as much as the version's own form), cooldown, highest wins. Releases
 * with no publication time pass the cooldown: the source cannot date them. Pure: same inputs,
 * same answer, whatever order the releases come in.
 */
export function selectVersions(
  releases: UpstreamRelease[],
  options: SelectOptions,
  now: Date,
): Selection {
  const scheme = schemeOf(options.versions.scheme);
  const extract = compileExtractor(options.upstream);
  const cooldownMs = options.versions.cooldown ? parseDuration(options.versions.cooldown) : 0;
  const rejected: Selection['rejected'] = [];
  const byVersion = new Map<string, Candidate>();
  for (const release of releases) {
    const outcome = candidateOf(release, extract, scheme, options, cooldownMs);
    if ('reason' in outcome) {
      rejected.push(outcome);
      continue;
    }
    const key = dedupeKey(scheme.id, outcome.version);
    const previous = byVersion.get(key);
    if (!previous || preferred(outcome, previous)) byVersion.set(key, outcome);
  }
  const order = scheme.sorter();
  const candidates = [...byVersion.values()].sort(
    (a, b) => order(b.version, a.version) || cmp(a.tag, b.tag),
  );
  const streams = normalizeStreams(options.versions.streams).map((stream) =>
    selectInStream(stream, streamMatcher(scheme, stream), candidates, now),
  );
  return { streams, candidates, rejected };
}

type Scheme = ReturnType<typeof schemeOf>;

/** A release as a candidate (with its cooldown's end), or why it is left out. */
function candidateOf(
  release: UpstreamRelease,
  extract: ReturnType<typeof compileExtractor>,
  scheme: Scheme,
  options: SelectOptions,
  cooldownMs: number,
): Candidate | Selection['rejected'][number] {
  const extracted = extract(release);
  if (!extracted.ok) return { tag: release.tag, reason: extracted.reason };
  const version = scheme.normalize(extracted.version);
  if (version === undefined)
    return {
      tag: release.tag,
      reason: `${JSON.stringify(extracted.version)} is not a ${scheme.id} version`,
    };
  const prerelease = release.prerelease || scheme.isPrerelease(version);
  if (prerelease && !options.versions.prereleases)
    return { tag: release.tag, reason: 'prerelease' };
  const published = parseTime(release.publishedAt);
  return {
    version,
    tag: release.tag,
    prerelease,
    publishedAt: release.publishedAt,
    eligibleAt:
      cooldownMs > 0 && published !== undefined
        ? new Date(published + cooldownMs).toISOString()
        : undefined,
    release,
  };
}

/** The stream's highest candidate past its cooldown; the higher ones still cooling, in order. */
function selectInStream(
  stream: Stream,
  matches: (version: string) => boolean,
  candidates: readonly Candidate[],
  now: Date,
): StreamSelection {
  const cooling: Candidate[] = [];
  let selected: Candidate | undefined;
  for (const c of candidates) {
    if (!matches(c.version)) continue;
    if (c.eligibleAt !== undefined && Date.parse(c.eligibleAt) > now.getTime()) {
      cooling.push(c);
      continue;
    }
    selected = c;
    break;
  }
  return { stream, selected, cooling };
}

// Loose versions `1.2` and `1.2.0` are the same release; semver and Debian forms are canonical.
function dedupeKey(scheme: SchemeId, version: string): string {
  if (scheme !== 'loose') return version;
  return version.replace(/(\.0+)+(?=$|[a-z-])/, '');
}

/**
 * Between two releases of one version (a `v` prefix and none, a retagged release) the newest
 * publication wins: it is what the tag points at now, and the cooldown counts from it.
 */
function preferred(a: Candidate, b: Candidate): boolean {
  const ta = parseTime(a.publishedAt) ?? -Infinity;
  const tb = parseTime(b.publishedAt) ?? -Infinity;
  if (ta !== tb) return ta > tb;
  return cmp(a.tag, b.tag) < 0;
}

function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  return Number.isNaN(t) ? undefined : t;
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
