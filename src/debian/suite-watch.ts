import { createHash } from 'node:crypto';
import { fetchBytes } from './http.ts';
import type { Lockfile } from './lockfile.ts';
import { diffLockfiles } from './lockfile.ts';
import type { SuiteSource } from './sources.ts';

/** What kiln remembers about a suite's InRelease between polls (e.g. in Redis). */
export interface SuiteState {
  etag?: string | undefined;
  lastModified?: string | undefined;
  /** sha256 of the InRelease bytes last seen. */
  sha256?: string | undefined;
}

export interface SuiteCheck {
  suite: string;
  changed: boolean;
  state: SuiteState;
}

/**
 * Asks whether a suite's InRelease changed since `previous`, with a conditional request: an
 * unchanged archive costs one 304. A changed one is only a hint to re-resolve: the resolution
 * fetches and verifies the InRelease again, so nothing here is trusted.
 */
export async function pollSuite(
  source: SuiteSource,
  previous: SuiteState | undefined,
  signal?: AbortSignal,
): Promise<SuiteCheck> {
  const headers: Record<string, string> = {};
  if (previous?.etag) headers['if-none-match'] = previous.etag;
  if (previous?.lastModified) headers['if-modified-since'] = previous.lastModified;
  const r = await fetchBytes(
    `${source.mirror}/dists/${source.suite}/InRelease`,
    `InRelease of ${source.suite}`,
    { signal, headers, timeoutMs: 30_000 },
  );
  if (r.status === 304) return { suite: source.suite, changed: false, state: previous ?? {} };
  const sha256 = createHash('sha256').update(r.body).digest('hex');
  return {
    suite: source.suite,
    changed: sha256 !== previous?.sha256,
    state: { etag: r.etag, lastModified: r.lastModified, sha256 },
  };
}

/** Why a lockfile changed, for the build request's reason and its provenance. */
export interface LockfileChange {
  packages: { name: string; from?: string; to?: string; suite?: string }[];
  /** True when any changed package now comes from a security suite: queue at security priority. */
  security: boolean;
  /** `openssl 3.0.15 → 3.0.16 (bookworm-security)`, joined. */
  reason: string;
}

export function describeLockfileChange(before: Lockfile, after: Lockfile): LockfileChange {
  const packages = diffLockfiles(before, after);
  const security = packages.some((p) => p.suite !== undefined && /-security$/.test(p.suite));
  const reason = packages
    .map(
      (p) =>
        `${p.name} ${p.from ?? '(new)'} → ${p.to ?? '(removed)'}${p.suite ? ` (${p.suite})` : ''}`,
    )
    .join(', ');
  return { packages, security, reason };
}
