import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import type { InstalledSource } from '../../src/vuln/match.ts';

/*
 * Feeds in the Debian Security Tracker's real shape (source → CVE → {description, scope,
 * debianbug, releases: {codename: {status, repositories, fixed_version, urgency, nodsa,
 * nodsa_reason}}}), made from a seed so every run gets the same one.
 */

const urgencies = ['unimportant', 'low', 'medium', 'high', 'not yet assigned'] as const;

/** A number in [0, n) from a string, stable across runs. */
function pick(seed: string, n: number): number {
  return createHash('sha256').update(seed).digest().readUInt32BE(0) % n;
}

const description =
  'A flaw was found in the way the library handled certain crafted input. A remote attacker could use this flaw to cause a denial of service or possibly execute arbitrary code with the privileges of the process.';

/**
 * A test feed for the images' source packages: per source, old CVEs fixed before the installed
 * version, one never affecting trixie (`0`), open ones of every urgency (some `nodsa`), and for
 * one source in seven a fix newer than the installed version in trixie-security (fixable).
 */
export function testFeedFor(sources: InstalledSource[]): Record<string, unknown> {
  const feed: Record<string, Record<string, unknown>> = {};
  let n = 0;
  for (const s of sources) {
    const cves: Record<string, unknown> = {};
    const count = 1 + pick(s.source, 4);
    for (let i = 0; i < count; i++) {
      const id = `CVE-20${20 + pick(`${s.source}${i}y`, 6)}-${10000 + n++}`;
      const kind = pick(`${s.source}${i}k`, 10);
      const urgency = urgencies[pick(`${s.source}${i}u`, urgencies.length)] ?? 'low';
      const release: Record<string, unknown> =
        kind < 3
          ? { status: 'resolved', fixed_version: '0', urgency: 'unimportant' }
          : kind < 6
            ? { status: 'resolved', fixed_version: '0.1-1', urgency }
            : {
                status: 'open',
                urgency,
                ...(kind === 9 ? { nodsa: 'Minor issue', nodsa_reason: 'postponed' } : {}),
              };
      cves[id] = {
        description,
        scope: 'remote',
        releases: { trixie: { repositories: { trixie: s.sourceVersion }, ...release } },
      };
    }
    if (pick(s.source, 7) === 0) {
      const fixed = `${s.sourceVersion}+deb13u9`;
      cves[`CVE-2026-${20000 + n++}`] = {
        description,
        scope: 'remote',
        releases: {
          trixie: {
            status: 'resolved',
            repositories: { trixie: s.sourceVersion, 'trixie-security': fixed },
            fixed_version: fixed,
            urgency: 'high',
          },
        },
      };
    }
    feed[s.source] = cves;
  }
  return feed;
}

/**
 * A feed of realistic size (the real one is ~70 MB: tens of thousands of source packages and CVE
 * entries over six releases), streamed to `file` until it holds `bytes`; the given sources are
 * included so a scan finds them. Returns the byte count written.
 */
export async function writeFullSizeFeed(
  file: string,
  bytes: number,
  include: Record<string, unknown>,
): Promise<number> {
  const out = createWriteStream(file);
  const releases = ['buster', 'bullseye', 'bookworm', 'trixie', 'forky', 'sid'];
  let size = 0;
  const write = async (s: string): Promise<void> => {
    size += Buffer.byteLength(s);
    if (!out.write(s)) await once(out, 'drain');
  };
  await write('{');
  let first = true;
  for (const [source, cves] of Object.entries(include)) {
    await write(`${first ? '' : ','}${JSON.stringify(source)}:${JSON.stringify(cves)}`);
    first = false;
  }
  for (let p = 0; size < bytes; p++) {
    const source = `synthetic-package-${p}`;
    const cves: Record<string, unknown> = {};
    for (let i = 0; i < 1 + (p % 9); i++) {
      const rel: Record<string, unknown> = {};
      for (const r of releases) {
        const open = (p + i) % 4 === 0;
        rel[r] = {
          status: open ? 'open' : 'resolved',
          repositories: { [r]: `${1 + (p % 5)}.${i}-${1 + (p % 3)}` },
          ...(open ? {} : { fixed_version: (p + i) % 3 === 0 ? '0' : `${1 + (p % 5)}.${i}-1` }),
          urgency: urgencies[(p + i) % urgencies.length],
          ...((p + i) % 11 === 0 ? { nodsa: 'Minor issue', nodsa_reason: 'ignored' } : {}),
        };
      }
      cves[`CVE-${2000 + (p % 26)}-${100000 + p * 10 + i}`] = {
        description: description.slice(0, 80 + ((p * 7 + i) % 120)),
        scope: i % 2 ? 'local' : 'remote',
        debianbug: 900000 + p,
        releases: rel,
      };
    }
    await write(`${first ? '' : ','}${JSON.stringify(source)}:${JSON.stringify(cves)}`);
    first = false;
  }
  await write('}');
  out.end();
  await once(out, 'finish');
  return size;
}
