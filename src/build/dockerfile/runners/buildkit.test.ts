import { describe, expect, it } from 'vitest';
import { buildctlArgs, classifyBuildkitFailure, csvField } from './buildkit.ts';

const digest = `sha256:${'a'.repeat(64)}`;

describe('buildctl arguments', () => {
  const args = buildctlArgs({
    addr: 'tcp://buildkitd.internal:1234',
    contextDir: '/work/ctx',
    dockerfile: '/recipes/hello/Dockerfile.release',
    archs: ['amd64', 'arm64'],
    outputDir: '/work/layout',
    buildArgs: [
      ['SOURCE_DATE_EPOCH', '1700000000'],
      ['VERSION', '1.2.3'],
      ['WEIRD', `a'b"c $(x), y`],
    ],
    target: 'runtime',
    sourceDateEpoch: 1_700_000_000,
    bases: [
      {
        name: 'build-base',
        layoutDir: '/cache/bases/build-base',
        digest,
        uri: 'oci-layout:/cache/bases/build-base',
      },
    ],
    secrets: [{ id: 'NPM_TOKEN', file: '/work/secrets/NPM_TOKEN' }],
    cacheRef: '127.0.0.1:5000/kiln/hello:buildcache',
    annotations: {
      'org.opencontainers.image.version': '1.2.3',
      'org.opencontainers.image.description': 'hello, world',
    },
  });

  /** The value following each occurrence of `flag`. */
  const values = (flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

  it('talks to the configured buildkitd with the Dockerfile frontend and two local sources', () => {
    expect(args.slice(0, 3)).toEqual(['--addr', 'tcp://buildkitd.internal:1234', 'build']);
    expect(values('--frontend')).toEqual(['dockerfile.v0']);
    expect(values('--local')).toEqual(['context=/work/ctx', 'dockerfile=/recipes/hello']);
  });

  it('passes the file name, platforms, target and build args as frontend options, verbatim', () => {
    expect(values('--opt')).toEqual([
      'filename=Dockerfile.release',
      'platform=linux/amd64,linux/arm64/v8',
      'target=runtime',
      'force-network-mode=none',
      'build-arg:SOURCE_DATE_EPOCH=1700000000',
      'build-arg:VERSION=1.2.3',
      `build-arg:WEIRD=a'b"c $(x), y`,
      `context:build-base=oci-layout://kilnbase0@${digest}`,
    ]);
  });

  it('maps a kiln-built base to a named context over a local OCI layout', () => {
    expect(values('--oci-layout')).toEqual(['kilnbase0=/cache/bases/build-base']);
  });

  it('hands secrets only as --secret, never as build args', () => {
    expect(values('--secret')).toEqual(['id=NPM_TOKEN,src=/work/secrets/NPM_TOKEN']);
    expect(args.some((a) => a.startsWith('build-arg:NPM_TOKEN'))).toBe(false);
  });

  it('imports and exports the registry cache', () => {
    expect(values('--import-cache')).toEqual([
      'type=registry,ref=127.0.0.1:5000/kiln/hello:buildcache',
    ]);
    expect(values('--export-cache')).toEqual([
      'type=registry,ref=127.0.0.1:5000/kiln/hello:buildcache,mode=max',
    ]);
  });

  it('writes an OCI layout folder with timestamps rewritten and annotations on manifests and index', () => {
    const [output] = values('--output');
    expect(output).toBe(
      [
        'type=oci',
        'dest=/work/layout',
        'tar=false',
        'oci-mediatypes=true',
        'rewrite-timestamp=true',
        'annotation.org.opencontainers.image.version=1.2.3',
        'annotation-index.org.opencontainers.image.version=1.2.3',
        '"annotation.org.opencontainers.image.description=hello, world"',
        '"annotation-index.org.opencontainers.image.description=hello, world"',
      ].join(','),
    );
  });

  it('quotes option-list fields CSV-style', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
  });

  it('retries daemon trouble but not a failing RUN', () => {
    expect(
      classifyBuildkitFailure({ tail: ['error: failed to dial gRPC: connection refused'] }),
    ).toBe('transient');
    expect(
      classifyBuildkitFailure({
        tail: ['process "/bin/sh -c make" did not complete successfully: exit code: 2'],
      }),
    ).toBe('permanent');
  });
});
