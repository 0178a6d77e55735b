import { describe, expect, it } from 'vitest';
import { nextEpoch } from './epoch.ts';
import type { PublishedImage } from './published-state.ts';

const img = (version: string, epoch: number, inputsDigest: string): PublishedImage => ({
  version,
  epoch,
  inputsDigest,
  tags: [],
  digest: 'sha256:' + '0'.repeat(64),
});

describe('nextEpoch', () => {
  it.each([
    ['nothing published: r0', [], '1.0.0', 'a', 0],
    ['new upstream version starts at r0', [img('0.9.0', 3, 'a')], '1.0.0', 'b', 0],
    [
      'same version, the newest epoch’s inputs: that epoch',
      [img('1.0.0', 0, 'a'), img('1.0.0', 1, 'b')],
      '1.0.0',
      'b',
      1,
    ],
    [
      'inputs back to an older epoch’s: a new epoch (the floating tags name the newest)',
      [img('1.0.0', 0, 'a'), img('1.0.0', 1, 'b')],
      '1.0.0',
      'a',
      2,
    ],
    [
      'same version, new inputs: next epoch',
      [img('1.0.0', 0, 'a'), img('1.0.0', 1, 'b')],
      '1.0.0',
      'c',
      2,
    ],
    ['epochs are counted from the highest, not the count', [img('1.0.0', 5, 'a')], '1.0.0', 'c', 6],
    [
      'another version’s epochs do not count',
      [img('1.0.1', 7, 'a'), img('1.0.0', 1, 'x')],
      '1.0.0',
      'c',
      2,
    ],
  ] as const)('%s', (_name, published, version, digest, expected) => {
    expect(nextEpoch(published, version, digest)).toBe(expected);
  });
});
