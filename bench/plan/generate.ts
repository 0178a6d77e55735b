import type { UpstreamRelease } from '../../src/versioning/release.ts';

/*
 * Deterministic synthetic recipes and upstream data for the plan benchmark: a mix of sources,
 * schemes, streams, extraction options and patches like a real recipe collection, each with
 * 60 cached releases (some prereleases, some in the cooldown, some with a `v` prefix).
 */

export interface Generated {
  name: string;
  text: string;
  releases: UpstreamRelease[];
}

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

export function generateRecipes(count: number, now: Date): Generated[] {
  const random = rng(42);
  const out: Generated[] = [];
  for (let i = 0; i < count; i++) {
    const name = `tool-${i}`;
    const kind = i % 4;
    const major = 1 + Math.floor(random() * 5);
    const upstream =
      kind === 0
        ? `  github: owner${i}/repo${i}\n  use: releases\n  strip-prefix: v\n`
        : kind === 1
          ? `  npm: pkg-${i}\n`
          : kind === 2
            ? `  github: owner${i}/repo${i}\n  use: tags\n  tag-filter-prefix: release-\n  strip-prefix: release-\n  version-transform: [{ match: '_', replace: '.' }]\n  ignore-regex-patterns: ['-nightly$']\n`
            : `  pypi: pkg-${i}\n`;
    const streams = i % 3 === 0 ? `  streams: ['${major - 1}.x', '${major}.x']\n` : '';
    const patches =
      i % 5 === 0
        ? `patches:\n  - file: patches/fix.patch\n    reason: fixes the build\n    upstream: https://example.org/issues/${i}\n    until: ${major + 1}.0.0\n`
        : '';
    const text = `# generated recipe ${i}
name: ${name}
description: Generated tool number ${i}
license: MIT
homepage: https://example.org/${name}
upstream:
${upstream}versions:
  scheme: ${kind === 3 ? 'loose' : 'semver'}
${streams}  prereleases: false
  cooldown: 6h
build:
  builder: dockerfile
  archs: [amd64, arm64]
  dockerfile:
    build-args: { MODE: release }
  files:
    - url: https://example.org/${name}-\${version}.tar.gz
      checksum-url: https://example.org/${name}-\${version}.sha256
      path: ${name}.tar.gz
  accounts:
    run-as: nonroot
  entrypoint: [/usr/local/bin/${name}]
  env: { HOME: /home/nonroot }
${patches}test:
  - name: version
    run: [/usr/local/bin/${name}, --version]
    expect-output: \${version}
`;
    const releases: UpstreamRelease[] = [];
    for (let r = 0; r < 60; r++) {
      const maj = Math.max(0, major - Math.floor(r / 20));
      const version = `${maj}.${Math.floor(random() * 20)}.${Math.floor(random() * 30)}`;
      const pre = random() < 0.1;
      const v = pre ? `${version}-rc.1` : version;
      const tag = kind === 2 ? `release-${v.replace(/\./g, '_')}` : kind === 0 ? `v${v}` : v;
      const ageHours = r === 0 ? 2 : 24 * (r + 1) * random();
      releases.push({
        version: v,
        tag,
        prerelease: pre,
        publishedAt: new Date(now.getTime() - ageHours * 3_600_000).toISOString(),
        url: undefined,
        checksums: { [`${name}.tar.gz`]: `sha256:${String(i).padStart(64, '0')}` },
      });
    }
    out.push({ name, text, releases });
  }
  return out;
}
