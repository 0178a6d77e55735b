import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadFeed } from '../../src/vuln/feed.ts';

/*
 * The cache of parsed feeds (src/vuln/feed-cache.ts): a second load of the same bytes for the
 * same sources is a hit with the same feed; a damaged entry (a byte changed in its payload, or
 * not JSON) is refused and rebuilt; a changed feed, or other sources, misses.
 */

const entry = (fixed: string) => ({
  'CVE-2026-1001': {
    description: 'x',
    releases: {
      trixie: {
        status: 'resolved',
        repositories: { trixie: '1.0', 'trixie-security': fixed },
        fixed_version: fixed,
        urgency: 'high',
      },
    },
  },
});

let dir: string;
let file: string;
const cacheDir = () => path.join(dir, 'cache');
const parsedDir = () => path.join(cacheDir(), 'vuln', 'parsed');
const load = (wanted = new Set(['libc-fake'])) =>
  loadFeed({ kind: 'path', path: file }, cacheDir(), wanted);
const fixedOf = (feed: Awaited<ReturnType<typeof load>>['feed']) =>
  feed.sources.get('libc-fake')?.get('CVE-2026-1001')?.releases.get('trixie')?.fixedVersion;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-feed-cache-'));
  file = path.join(dir, 'tracker.json');
  await writeFile(file, JSON.stringify({ 'libc-fake': entry('1.0+deb13u1'), other: entry('2') }));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the cache of parsed feeds', () => {
  it('hits for the same bytes and sources, refuses a damaged entry, misses a changed feed', async () => {
    const first = await load();
    expect(first.origin.parsed).toBe('miss');
    expect(fixedOf(first.feed)).toBe('1.0+deb13u1');
    expect(first.feed.sources.has('other')).toBe(false);

    const second = await load();
    expect(second.origin.parsed).toBe('hit');
    expect(second.feed).toEqual(first.feed);

    // A damaged entry: still JSON of the right shape, one version changed in the payload.
    const [name] = await readdir(parsedDir());
    const entryFile = path.join(parsedDir(), name!);
    const text = await readFile(entryFile, 'utf8');
    expect(text).toContain('1.0+deb13u1');
    await writeFile(entryFile, text.replaceAll('1.0+deb13u1', '9.9+deb13u9'));
    const damaged = await load();
    expect(damaged.origin.parsed).toBe('refused');
    expect(fixedOf(damaged.feed)).toBe('1.0+deb13u1');
    expect((await load()).origin.parsed).toBe('hit');

    // Not JSON at all: refused too.
    await writeFile(entryFile, text.slice(0, 40));
    expect((await load()).origin.parsed).toBe('refused');

    // Other sources asked for: another entry.
    const both = await load(new Set(['libc-fake', 'other']));
    expect(both.origin.parsed).toBe('miss');
    expect(both.feed.sources.has('other')).toBe(true);

    // The feed changed: its digest differs, the old entry is not used.
    await writeFile(file, JSON.stringify({ 'libc-fake': entry('1.0+deb13u2') }));
    const changed = await load();
    expect(changed.origin.parsed).toBe('miss');
    expect(fixedOf(changed.feed)).toBe('1.0+deb13u2');
  });
});
