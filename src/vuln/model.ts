/*
 * One model for both inputs (the Debian Security Tracker's JSON and OSV's Debian records): what
 * Debian says about one CVE in one source package in one release.
 */

/** The tracker's urgencies, least to most urgent; `not yet assigned` sits with `medium`'s rank. */
export const urgencies = [
  'unimportant',
  'end-of-life',
  'low',
  'not yet assigned',
  'medium',
  'high',
] as const;

export type Urgency = (typeof urgencies)[number];

/** Rank for `--fail-on`: `not yet assigned` counts as medium (it may turn out to be anything). */
export function urgencyRank(u: Urgency): number {
  switch (u) {
    case 'unimportant':
      return 0;
    case 'end-of-life':
      return 1;
    case 'low':
      return 2;
    case 'not yet assigned':
    case 'medium':
      return 3;
    case 'high':
      return 4;
  }
}

/**
 * The tracker writes `low*`, `medium**` for urgencies it has not confirmed; the stars are dropped.
 * Undefined for a value that is none of the known urgencies.
 */
export function parseUrgency(raw: string | undefined): Urgency | undefined {
  if (raw === undefined || raw === '') return 'not yet assigned';
  const plain = raw.replace(/\*+$/, '').trim().toLowerCase();
  return urgencies.find((u) => u === plain);
}

/** What one release's entry for a CVE says. */
export interface ReleaseStatus {
  status: 'resolved' | 'open' | 'undetermined';
  /**
   * The first fixed source version in this release; `'0'` means the release was never
   * vulnerable; undefined means no fix yet.
   */
  fixedVersion: string | undefined;
  urgency: Urgency;
  /** Set when the security team will not issue an advisory (`nodsa`): its stated reason. */
  noDsa: string | undefined;
  /** Suite → the source version it holds (`trixie`, `trixie-security`), when the feed says. */
  repositories: Record<string, string> | undefined;
  /**
   * The binary packages the record says are affected, when it says (an OSV record's
   * `ecosystem_specific.binaries[].binary_name`, the shape Ubuntu's records use). The Security
   * Tracker's JSON and Debian's own OSV records are per source package and never say.
   */
  binaries?: readonly string[] | undefined;
}

export interface CveRecord {
  id: string;
  description: string | undefined;
  /** Release codename → status. */
  releases: Map<string, ReleaseStatus>;
}

/** An entry of the feed that was refused, and why; the rest of the feed is still used. */
export interface Refusal {
  /** `openssl CVE-2026-1234 trixie`, or a file/offset for OSV. */
  where: string;
  reason: string;
}

/** The part of a feed that matters for the packages asked for. */
export interface VulnFeed {
  /** Source package → CVE id → record. */
  sources: Map<string, Map<string, CveRecord>>;
  /** The first {@link maxRefusalsKept} refusals, in feed order. */
  refusals: Refusal[];
  /** How many entries were refused in all. */
  refused: number;
  /** Source packages seen in the feed in total (kept or not). */
  sourcesSeen: number;
}

/** A hostile feed could refuse millions of entries: the first ones say what is wrong. */
export const maxRefusalsKept = 100;

export function emptyFeed(): VulnFeed {
  return { sources: new Map(), refusals: [], refused: 0, sourcesSeen: 0 };
}

export function refuse(feed: VulnFeed, where: string, reason: string): void {
  feed.refused++;
  if (feed.refusals.length < maxRefusalsKept) feed.refusals.push({ where, reason });
}

/** Adds one release status to a feed, creating the CVE record as needed. */
export function addStatus(
  feed: VulnFeed,
  source: string,
  cve: string,
  release: string,
  status: ReleaseStatus,
  description?: string,
): void {
  let cves = feed.sources.get(source);
  if (!cves) feed.sources.set(source, (cves = new Map()));
  let record = cves.get(cve);
  if (!record) cves.set(cve, (record = { id: cve, description, releases: new Map() }));
  record.description ??= description;
  record.releases.set(release, status);
}
