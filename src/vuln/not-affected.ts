import { compareDebianVersions } from '../debian/version.ts';
import type { InstalledPackage } from './installed.ts';
import { installedSources, matchFeed, type Finding } from './match.ts';
import type { VulnFeed } from './model.ts';

/*
 * The feed CVEs an image is not affected by, for the OpenVEX attestation's `not_affected`
 * statements (justification `vulnerable_code_not_present`), from two signals the data really has:
 *
 * - `never-affected`: the release's entry has fixed version `0` (the tracker's `<not-affected>`:
 *   this release's package never had the vulnerable code);
 * - `binaries-absent`: the record names the binary packages the vulnerable code ships in (OSV's
 *   `ecosystem_specific.binaries`; the tracker's JSON and Debian's own OSV records are per source
 *   package and never do), the image carries none of them, and the Packages index confirms each
 *   is a binary that source builds (a name the index does not know gives no claim). The CVE
 *   would otherwise count as open: one the installed version already fixes is left out.
 */

/** A binary package in the image, with its purl (what a scanner matches a statement against). */
export interface ImagePackage extends InstalledPackage {
  purl: string;
}

/** The binaries each source package builds, from the Packages index of the image's suites. */
export type SourceBinaries = (source: string) => ReadonlySet<string> | undefined;

export type NotAffectedReason =
  | { kind: 'never-affected'; release: string }
  | {
      kind: 'binaries-absent';
      /** The binaries the vulnerable code ships in: none is in the image. */
      affected: string[];
    };

export interface NotAffectedCve {
  cve: string;
  source: string;
  sourceVersion: string;
  /** The image's binaries of that source: names and purls (the statement's subcomponents). */
  packages: { name: string; purl: string }[];
  reason: NotAffectedReason;
}

/** A not-affected CVE as `kiln scan` and the catalog see it: the binaries by name. */
export interface NotAffectedFinding {
  cve: string;
  source: string;
  sourceVersion: string;
  packages: string[];
  reason: NotAffectedReason;
}

export interface FeedInput<P extends InstalledPackage = InstalledPackage> {
  packages: readonly P[];
  feed: VulnFeed;
  /** The release the image is judged against (`trixie`). */
  release: string;
  /** Without it, no `binaries-absent` claim is made (nothing confirms the record's names). */
  sourceBinaries?: SourceBinaries | undefined;
}

/** The release entry's verdict for one installed source, or undefined when it is affected. */
function reasonOf(
  entry: { fixedVersion: string | undefined; binaries?: readonly string[] | undefined },
  installed: { source: string; sourceVersion: string; packages: string[] },
  release: string,
  sourceBinaries: SourceBinaries | undefined,
): NotAffectedReason | undefined {
  const fixed = entry.fixedVersion;
  if (fixed === '0') return { kind: 'never-affected', release };
  if (fixed !== undefined && compareDebianVersions(installed.sourceVersion, fixed) >= 0)
    return undefined;
  const affected = entry.binaries ?? [];
  if (affected.length === 0 || !sourceBinaries) return undefined;
  const built = sourceBinaries(installed.source);
  if (!built || !affected.every((b) => built.has(b))) return undefined;
  if (affected.some((b) => installed.packages.includes(b))) return undefined;
  return { kind: 'binaries-absent', affected: [...affected].sort() };
}

export type NotAffectedInput = FeedInput<ImagePackage>;

/** What the feed says about an image: its open CVEs, and the ones it is not affected by. */
export interface FeedJudgement {
  /** Open CVEs (match.ts), less the `binaries-absent` ones. */
  findings: Finding[];
  notAffected: NotAffectedFinding[];
}

/**
 * The one place the not-affected rule is applied: `kiln scan`, the catalog's counts and the
 * OpenVEX attestation all take their verdicts from here, so they cannot disagree. A
 * `binaries-absent` CVE is taken out of the open findings (a `never-affected` one never is one).
 */
export function judgeFeed(input: FeedInput): FeedJudgement {
  const notAffected: NotAffectedFinding[] = [];
  for (const installed of installedSources([...input.packages])) {
    for (const record of input.feed.sources.get(installed.source)?.values() ?? []) {
      const entry = record.releases.get(input.release);
      if (!entry) continue;
      const reason = reasonOf(entry, installed, input.release, input.sourceBinaries);
      if (!reason) continue;
      notAffected.push({
        cve: record.id,
        source: installed.source,
        sourceVersion: installed.sourceVersion,
        packages: installed.packages,
        reason,
      });
    }
  }
  notAffected.sort((a, b) => a.cve.localeCompare(b.cve) || a.source.localeCompare(b.source));
  const key = (f: { cve: string; source: string; sourceVersion: string }) =>
    `${f.cve} ${f.source} ${f.sourceVersion}`;
  const absent = new Set(notAffected.map(key));
  const findings = matchFeed([...input.packages], input.feed, input.release).filter(
    (f) => !absent.has(key(f)),
  );
  return { findings, notAffected };
}

/** {@link judgeFeed}'s not-affected CVEs with the image's purls, for the OpenVEX statements. */
export function notAffectedCves(input: NotAffectedInput): NotAffectedCve[] {
  return judgeFeed(input).notAffected.map((n) => ({
    cve: n.cve,
    source: n.source,
    sourceVersion: n.sourceVersion,
    packages: input.packages
      .filter((p) => p.source === n.source && p.sourceVersion === n.sourceVersion)
      .map((p) => ({ name: p.name, purl: p.purl })),
    reason: n.reason,
  }));
}

/** Source → its binaries, from the binary packages of a Packages index (name, source). */
export function sourceBinariesOf(
  records: Iterable<{ name: string; source: string }>,
): SourceBinaries {
  const map = new Map<string, Set<string>>();
  for (const r of records) {
    let set = map.get(r.source);
    if (!set) map.set(r.source, (set = new Set()));
    set.add(r.name);
  }
  return (source) => map.get(source);
}
