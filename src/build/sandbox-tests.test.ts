import { describe, expect, it } from 'vitest';
import { substituted } from './sandbox-tests.ts';

describe('recipe test placeholders', () => {
  const test = {
    name: 'loader',
    run: ['${loader}', '/usr/lib/${triplet}/libc.so.6', '--arch=${arch}', 'v${version}'],
    'expect-output': '${version} on ${arch}',
  };

  it('fills ${arch}, ${triplet}, ${loader} and ${version} in run and expect-output, per arch', () => {
    expect(substituted(test, { arch: 'amd64', version: '2.41' })).toEqual({
      name: 'loader',
      run: [
        '/lib64/ld-linux-x86-64.so.2',
        '/usr/lib/x86_64-linux-gnu/libc.so.6',
        '--arch=amd64',
        'v2.41',
      ],
      'expect-output': '2.41 on amd64',
    });
    expect(substituted(test, { arch: 'arm64', version: '2.41' }).run.slice(0, 2)).toEqual([
      '/lib/ld-linux-aarch64.so.1',
      '/usr/lib/aarch64-linux-gnu/libc.so.6',
    ]);
  });

  it('leaves a test without placeholders as it is, and adds no expect-output', () => {
    const plain = { run: ['/usr/bin/true'] };
    expect(substituted(plain, { arch: 'amd64', version: '1' })).toEqual(plain);
  });

  it('refuses ${triplet} on an arch it has no triplet for, naming the test', () => {
    expect(() => substituted(test, { arch: 'sparc64', version: '1' })).toThrow(
      /test "loader": run uses \$\{loader\}, which kiln does not know for arch sparc64/,
    );
    expect(substituted({ run: ['${arch}'] }, { arch: 'sparc64', version: '1' }).run).toEqual([
      'sparc64',
    ]);
  });
});
