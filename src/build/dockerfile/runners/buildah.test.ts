import { describe, expect, it } from 'vitest';
import { budArgs, classifyBuildahFailure, privateStorage } from './buildah.ts';

describe('buildah bud arguments', () => {
  const storage = privateStorage('/work/job');
  const args = budArgs({
    storage,
    contextDir: '/work/job/context',
    dockerfile: '/recipes/hello/Dockerfile',
    arch: 'arm64',
    layoutDir: '/work/job/layout',
    refName: 'arm64',
    buildArgs: [
      ['VERSION', '1.2.3'],
      ['WEIRD', `a'b"c $(x)`],
    ],
    target: 'runtime',
    sourceDateEpoch: 1_700_000_000,
    baseImages: new Map([['build-base', 'localhost/kiln-base/build-base:arm64']]),
    secrets: [{ id: 'NPM_TOKEN', file: '/work/job/secrets/NPM_TOKEN' }],
    annotations: { 'dev.kiln.recipe': 'hello' },
  });
  const values = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

  it('keeps buildah on vfs storage inside the private work folder', () => {
    expect(args.slice(0, 6)).toEqual([
      '--root',
      '/work/job/buildah/root',
      '--runroot',
      '/work/job/buildah/run',
      '--storage-driver',
      'vfs',
    ]);
    expect(args[6]).toBe('bud');
    expect(values('--isolation')).toEqual(['chroot']);
  });

  it('builds reproducibly for the asked platform into an oci: layout', () => {
    expect(values('--timestamp')).toEqual(['1700000000']);
    expect(args).toContain('--identity-label=false');
    expect(values('--arch')).toEqual(['arm64']);
    expect(values('--variant')).toEqual(['v8']);
    expect(values('--tag')).toEqual(['oci:/work/job/layout:arm64']);
    expect(args.at(-1)).toBe('/work/job/context');
  });

  it('passes build args verbatim, bases as build contexts, secrets as --secret', () => {
    expect(values('--build-arg')).toEqual(['VERSION=1.2.3', `WEIRD=a'b"c $(x)`]);
    expect(values('--build-context')).toEqual([
      'build-base=container-image://localhost/kiln-base/build-base:arm64',
    ]);
    expect(args).toContain('--pull=never');
    expect(values('--secret')).toEqual(['id=NPM_TOKEN,src=/work/job/secrets/NPM_TOKEN']);
    expect(values('--target')).toEqual(['runtime']);
  });

  it('classifies registry trouble as transient and a failing RUN as permanent', () => {
    expect(
      classifyBuildahFailure({ tail: ['pinging container registry: dial tcp: i/o timeout'] }),
    ).toBe('transient');
    expect(
      classifyBuildahFailure({ tail: ['error building at STEP "RUN make": exit status 2'] }),
    ).toBe('permanent');
  });
});
