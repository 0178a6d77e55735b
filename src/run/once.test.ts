import { describe, expect, it } from 'vitest';
import { publishedDetail } from './once.ts';

describe('kiln up --once result table', () => {
  const digest = `sha256:${'a'.repeat(64)}`;
  it('prints the build tag of a publish after its tags', () => {
    expect(
      publishedDetail('1.4-2-r0', {
        digest,
        tags: ['1.4-2-r0', '1.4-2', 'latest'],
        buildTag: '1.4-2-r0-202612011330',
      }),
    ).toBe(`1.4-2-r0 ${digest} tags 1.4-2-r0 1.4-2 latest; build tag 1.4-2-r0-202612011330`);
  });
  it('says the build tag is unchanged when the image already had one', () => {
    expect(publishedDetail('1.4-2-r0', { digest, tags: ['1.4-2-r0'] })).toMatch(
      /; build tag unchanged$/,
    );
  });
});
