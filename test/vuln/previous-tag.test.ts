import { describe, expect, it } from 'vitest';
import { previousExactTag } from '../../src/vuln/publish-fixes.ts';

/*
 * A nano update lists its fixes against the previous epoch's image, found by its exact tag. Debian
 * security versions carry `+` (`1.26.3-3+deb13u10`), which tags spell `_`: the whole-catalog run
 * looked up `nginx:1.26.3-3+deb13u10-r1`, found nothing, and listed no fixes.
 */
describe('previousExactTag', () => {
  it.each([
    [
      'a Debian security version',
      '1.26.3-3+deb13u10',
      2,
      ['1.26.3-3_deb13u10-r2', '1.26.3-3_deb13u10', 'latest'],
      '1.26.3-3_deb13u10-r1',
    ],
    [
      'a variant keeps its suffix',
      '13.8+deb13u8',
      1,
      ['13.8_deb13u8-r1-dev', 'latest-dev'],
      '13.8_deb13u8-r0-dev',
    ],
    ['an epoch of two digits', '1.2.3', 10, ['1.2.3-r10'], '1.2.3-r9'],
    [
      'a dpkg epoch and tilde',
      '1:2.47.3-0+deb13u1~b1',
      1,
      ['1_2.47.3-0_deb13u1_b1-r1'],
      '1_2.47.3-0_deb13u1_b1-r0',
    ],
    ['no tags: the version in tag text', '3.5.4-1~deb13u2', 3, [], '3.5.4-1_deb13u2-r2'],
  ] as const)('%s', (_name, version, epoch, tags, expected) => {
    expect(previousExactTag({ version, epoch, tags: [...tags] })).toBe(expected);
  });
});
