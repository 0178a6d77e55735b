import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { createDockerfileBuilder } from '../../src/build/dockerfile/index.ts';
import { createLogger } from '../../src/log.ts';
import { recipeSchema } from '../../src/recipe/schema.ts';

const addr = process.env.KILN_BUILDKIT_ADDR;
const hasBuildctl = (() => {
  try {
    execFileSync('buildctl', ['--version'], { stdio: 'ignore' });
    return Boolean(addr);
  } catch {
    return false;
  }
})();

describe('dockerfile builder on BuildKit', () => {
  let dir = '';
  afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  it.skipIf(!hasBuildctl)(
    'builds a Dockerfile into an OCI layout skopeo accepts (skipped: buildctl or KILN_BUILDKIT_ADDR absent)',
    async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-buildkit-test-'));
      await mkdir(path.join(dir, 'hello'));
      await writeFile(
        path.join(dir, 'hello', 'Dockerfile'),
        'FROM scratch\nARG VERSION\nCOPY hello.txt /\n',
      );
      await writeFile(path.join(dir, 'hello', 'hello.txt'), 'hello\n');
      const recipe = recipeSchema.parse({
        name: 'hello',
        description: 'test',
        license: 'MIT',
        upstream: { github: 'example/hello' },
        build: {
          builder: 'dockerfile',
          dockerfile: { path: 'hello/Dockerfile', context: 'hello', shell: true },
        },
      });
      const builder = createDockerfileBuilder({
        config: {
          dockerfileBackend: 'buildkit',
          buildkitAddr: addr,
          registry: undefined,
          insecureRegistries: [],
          cacheDir: dir,
        },
      });
      const out = await builder.build({
        recipe,
        recipeFile: path.join(dir, 'hello.yaml'),
        version: '1.0.0',
        epoch: 0,
        archs: ['amd64'],
        inputsDigest: `sha256:${'0'.repeat(64)}`,
        workDir: path.join(dir, 'work'),
        signal: new AbortController().signal,
        timeoutMs: 300_000,
        sourceDateEpoch: 1_700_000_000,
        log: createLogger({ level: 'silent' }),
        annotations: {},
      });
      await execa('skopeo', ['inspect', `oci:${out.layoutDir}:1.0.0`]);
      expect(out.archs[0]?.manifest.platform?.architecture).toBe('amd64');
    },
  );
});
