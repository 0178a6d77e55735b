import { describe, expect, it } from 'vitest';
import { rebuildCatalogFromRegistry } from '../../src/catalog/rebuild.ts';
import { clearCatalog } from '../../src/catalog/store.ts';
import { PermanentError } from '../../src/errors.ts';
import { MediaType } from '../../src/oci/media-types.ts';
import { computeTags } from '../../src/plan/tags.ts';
import { publishImage, readPublishedState } from '../../src/publish/index.ts';
import { isSupplementTag } from '../../src/sign/cosign-objects.ts';
import { testRedis, uniqueName } from '../helpers/stack.ts';
import { makeLayout, makeRequest, newSigner, pushArchs, registry } from './fixtures.ts';

/*
 * A recipe's main image and its `-dev` variant published into one repository of the test
 * registry: each gets its suffixed tags and an immutable build tag, the published state of each
 * ignores the other's images and the build tags, and a build tag never moves.
 */
const tagsOf = (version: string, epoch: number, suffix = '') =>
  computeTags({
    version,
    epoch,
    scheme: 'semver',
    known: [],
    highestStream: true,
    policy: 'semver',
    suffix,
  });

async function publish(
  repository: string,
  version: string,
  suffix: string,
  now: Date,
  seed = `${version}${suffix}`,
  epoch = 0,
) {
  const client = registry();
  const { layoutDir, images } = await makeLayout(['amd64'], seed);
  const archResults = await pushArchs(client, repository, layoutDir, images, version);
  const request = makeRequest(repository, version, tagsOf(version, epoch, suffix), {
    recipe: `app${suffix}`,
    epoch,
    inputsDigest: `sha256:${'0'.repeat(63)}${suffix ? 'd' : 'm'}`.slice(0, 71),
    archs: ['amd64'],
  });
  return publishImage({ client, repository, request, archResults, signer: newSigner(), now });
}

async function tagsOn(repository: string, digest: string): Promise<string[]> {
  const client = registry();
  const tags = (await client.listTags(repository)).filter((t) => !isSupplementTag(t));
  const on: string[] = [];
  for (const tag of tags)
    if ((await client.headManifest(repository, tag))?.digest === digest) on.push(tag);
  return on.sort();
}

describe('variants and build tags in the registry', () => {
  it('sets X.Y.Z-rN-dev, X.Y-dev, latest-dev and both build tags; each published state sees only its own', async () => {
    const repository = uniqueName('kiln/app');
    const at = new Date('2026-12-01T10:30:59Z');
    const main = await publish(repository, '1.2.3', '', at);
    const dev = await publish(repository, '1.2.3', '-dev', at);
    expect(main.buildTag).toBe('1.2.3-r0-202612011030');
    expect(dev.buildTag).toBe('1.2.3-r0-202612011030-dev');
    expect(dev.digest).not.toBe(main.digest);
    expect(await tagsOn(repository, main.digest)).toEqual(
      ['1', '1.2', '1.2.3', '1.2.3-r0', '1.2.3-r0-202612011030', 'latest'].sort(),
    );
    expect(await tagsOn(repository, dev.digest)).toEqual(
      [
        '1-dev',
        '1.2-dev',
        '1.2.3-dev',
        '1.2.3-r0-dev',
        '1.2.3-r0-202612011030-dev',
        'latest-dev',
      ].sort(),
    );
    const client = registry();
    const mainState = await readPublishedState(client, repository);
    const devState = await readPublishedState(client, repository, { suffix: '-dev' });
    expect(mainState.map((i) => [i.digest, i.tags])).toEqual([
      [main.digest, ['1', '1.2', '1.2.3', '1.2.3-r0', 'latest']],
    ]);
    expect(devState.map((i) => [i.digest, i.tags])).toEqual([
      [dev.digest, ['1-dev', '1.2-dev', '1.2.3-dev', '1.2.3-r0-dev', 'latest-dev']],
    ]);

    // The catalog rebuilt from the registry keeps the two apart as well.
    const redis = testRedis();
    const prefix = uniqueName('variants');
    try {
      const base = { repository, path: repository };
      const records = await rebuildCatalogFromRegistry({
        redis,
        prefix,
        client,
        images: [
          { ...base, recipe: 'app' },
          { ...base, recipe: 'app-dev', suffix: '-dev' },
        ],
      });
      expect(records.map((r) => [r.recipe, r.digest])).toEqual([
        ['app', main.digest],
        ['app-dev', dev.digest],
      ]);
    } finally {
      await clearCatalog(redis, prefix);
      await redis.quit();
    }
  });

  it('keeps the build tag an image has on a re-run, and never moves one that names another image', async () => {
    const repository = uniqueName('kiln/app');
    const first = await publish(repository, '2.0.0', '', new Date('2026-12-01T10:30:00Z'));
    // The same image published again later: no second build tag, the first one stays.
    const again = await publish(repository, '2.0.0', '', new Date('2026-12-02T08:00:00Z'));
    expect(again.digest).toBe(first.digest);
    expect(again.changed).toBe(false);
    expect(
      (await registry().listTags(repository)).filter((t) => t.startsWith('2.0.0-r0-')),
    ).toEqual(['2.0.0-r0-202612011030']);

    // A nano update whose build tag (same minute) already names another image: refused, untouched.
    const client = registry();
    const at = new Date('2026-12-03T09:15:00Z');
    const squatted = '2.0.0-r1-202612030915';
    const other = await client.getManifest(repository, first.digest);
    if (!other) throw new Error('first image gone');
    await client.putManifest(repository, squatted, other.bytes, MediaType.imageIndex);
    const refused = publish(repository, '2.0.0', '', at, 'another image', 1);
    await expect(refused).rejects.toThrow(PermanentError);
    await expect(refused).rejects.toThrow(
      /build tag 2\.0\.0-r1-202612030915 already points at sha256:.*build tags never move/,
    );
    expect((await client.headManifest(repository, squatted))?.digest).toBe(first.digest);
    // The floating tags were not moved to the refused image either.
    expect((await client.headManifest(repository, 'latest'))?.digest).toBe(first.digest);
  });
});
