import { z } from 'zod';
import { readCveSummaries, type FixableCve } from '../catalog/cves.ts';
import { lockfileSchema } from '../debian/lockfile.ts';
import { compareDebianVersions } from '../debian/version.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { RedisClient } from '../queue/connection.ts';
import type { SecurityFixPort } from './ports.ts';

/*
 * CVE-driven rebuilds: the vuln scan (src/vuln/catalog-scan.ts) finds that an image's stream head
 * carries a CVE whose fix has reached one of its suites, and the vuln trigger re-plans the recipe
 * (src/watch/vuln-trigger.ts). Here the planner learns which fixable CVEs a build's fresh lockfile
 * picks up: those make it a security build, and its reason (so its provenance) names them. A CVE
 * whose fixed version the lockfile does not hold yet (a mirror behind the feed) is not claimed.
 */

const resolvedLockfile = z.object({ lockfile: lockfileSchema });

/** The source versions a request's lockfiles hold, by source package (the lowest across archs). */
function lockedSources(request: BuildRequest): Map<string, string> {
  const out = new Map<string, string>();
  for (const value of Object.values(request.resolved ?? {})) {
    const parsed = resolvedLockfile.safeParse(value);
    if (!parsed.success) continue;
    for (const p of parsed.data.lockfile.packages) {
      const seen = out.get(p.source);
      if (seen === undefined || compareDebianVersions(p['source-version'], seen) < 0)
        out.set(p.source, p['source-version']);
    }
  }
  return out;
}

/** The fixable CVEs of the published stream head that this request's lockfiles fix. */
export function fixedBy(request: BuildRequest, fixable: readonly FixableCve[]): FixableCve[] {
  const locked = lockedSources(request);
  return fixable.filter((f) => {
    const v = locked.get(f.source);
    return v !== undefined && compareDebianVersions(v, f.fixedVersion) >= 0;
  });
}

/** `fixes CVE-2026-1 (libc-fake 1.0+deb13u1 in trixie-security), CVE-2026-2 (…)`. */
export function securityReason(fixes: readonly FixableCve[]): string {
  const byCve = new Map<string, FixableCve>();
  for (const f of fixes) if (!byCve.has(f.cve)) byCve.set(f.cve, f);
  const parts = [...byCve.values()]
    .sort((a, b) => a.cve.localeCompare(b.cve))
    .map((f) => `${f.cve} (${f.source} ${f.fixedVersion} in ${f.suite})`);
  return `fixes ${parts.join(', ')}`;
}

/** The port over the catalog's CVE summaries (src/catalog/cves.ts) in Redis. */
export function catalogSecurityFixes(redis: RedisClient, prefix: string): SecurityFixPort {
  return {
    async fixesFor(request) {
      const summaries = await readCveSummaries(redis, prefix, request.recipe);
      const fixable = [...summaries.values()]
        .filter((s) => s.stream === request.stream)
        .flatMap((s) => s.fixableCves);
      return fixable.length === 0 ? [] : fixedBy(request, fixable);
    },
  };
}
