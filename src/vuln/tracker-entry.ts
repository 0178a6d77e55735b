import { z } from 'zod';
import { parseDebianVersion } from '../versioning/debian-compare.ts';
import { addStatus, parseUrgency, refuse, type ReleaseStatus, type VulnFeed } from './model.ts';
import { isKnownRelease } from './releases.ts';

/*
 * One CVE entry of the tracker feed, already built under limits, checked field by field. Each
 * release is kept or refused on its own: a bad version in bookworm's entry does not lose trixie's.
 */

const entrySchema = z.object({
  description: z.string().optional(),
  // Not z.record: its output would drop a `__proto__` key silently; this keeps the object as built.
  releases: z.custom<object>((v) => typeof v === 'object' && v !== null && !Array.isArray(v), {
    error: 'expected an object of releases',
  }),
});

const releaseSchema = z.object({
  status: z.enum(['resolved', 'open', 'undetermined']),
  fixed_version: z.string().optional(),
  urgency: z.string().optional(),
  nodsa: z.string().optional(),
  nodsa_reason: z.string().optional(),
  repositories: z.record(z.string(), z.string()).optional(),
});

/** The first problem zod found, as `field: message`. */
function firstIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join('.') || 'entry'}: ${issue.message}` : 'invalid';
}

export function parseCveEntry(feed: VulnFeed, source: string, cve: string, value: unknown): void {
  const where = `${source} ${cve}`;
  const entry = entrySchema.safeParse(value);
  if (!entry.success) {
    refuse(feed, where, `entry refused: ${firstIssue(entry.error)}`);
    return;
  }
  for (const [release, raw] of Object.entries(entry.data.releases)) {
    const status = parseRelease(raw);
    if (typeof status === 'string') {
      refuse(feed, `${where} ${release.slice(0, 40)}`, status);
      continue;
    }
    if (!isKnownRelease(release)) {
      refuse(feed, `${where} ${release.slice(0, 40)}`, `unknown release "${release.slice(0, 40)}"`);
      continue;
    }
    addStatus(feed, source, cve, release, status, entry.data.description);
  }
}

/** A release's entry, or the reason it is refused. */
function parseRelease(raw: unknown): ReleaseStatus | string {
  const parsed = releaseSchema.safeParse(raw);
  if (!parsed.success) return firstIssue(parsed.error);
  const r = parsed.data;
  const fixed =
    r.fixed_version === '' || r.fixed_version === 'unfixed' ? undefined : r.fixed_version;
  if (fixed !== undefined && fixed !== '0' && !parseDebianVersion(fixed))
    return `fixed_version "${fixed.slice(0, 60)}" is not a Debian version`;
  const urgency = parseUrgency(r.urgency);
  if (!urgency) return `unknown urgency "${(r.urgency ?? '').slice(0, 40)}"`;
  for (const [suite, version] of Object.entries(r.repositories ?? {})) {
    if (!parseDebianVersion(version))
      return `repositories.${suite.slice(0, 40)} "${version.slice(0, 60)}" is not a Debian version`;
  }
  return {
    status: r.status,
    fixedVersion: fixed,
    urgency,
    noDsa:
      r.nodsa && r.nodsa_reason ? `${r.nodsa} (${r.nodsa_reason})` : (r.nodsa ?? r.nodsa_reason),
    repositories: r.repositories,
  };
}
