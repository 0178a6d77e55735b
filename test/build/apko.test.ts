import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { createApkoBuilder } from '../../src/build/apko/index.ts';
import { createLogger } from '../../src/log.ts';
import { recipeSchema } from '../../src/recipe/schema.ts';

/*
 * apko is not installable here: this runs where it is on PATH, with an APK repository and key
 * given by KILN_TEST_APK_REPOSITORY / KILN_TEST_APK_KEY (kiln names no package host itself).
 */
const hasApko = (() => {
  try {
    execFileSync('apko', ['version'], { stdio: 'ignore' });
    return Boolean(process.env.KILN_TEST_APK_REPOSITORY && process.env.KILN_TEST_APK_KEY);
  } catch {
    return false;
  }
})();

describe('apko builder', () => {
  let dir = '';
  afterAll(() => (dir ? rm(dir, { recursive: true, force: true }) : undefined));

  it.skipIf(!hasApko)(
    'builds an APK image with its SBOM packages (skipped: apko or KILN_TEST_APK_REPOSITORY absent)',
    async () => {
      dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-apko-test-'));
      const recipe = recipeSchema.parse({
        name: 'certs',
        description: 'CA certificates',
        license: 'MPL-2.0',
        upstream: { github: 'example/certs' },
        build: {
          builder: 'apko',
          apko: {
            repositories: [process.env.KILN_TEST_APK_REPOSITORY],
            keyring: [process.env.KILN_TEST_APK_KEY],
            packages: ['ca-certificates-bundle'],
          },
        },
      });
      const out = await createApkoBuilder().build({
        recipe,
        recipeFile: path.join(dir, 'certs.yaml'),
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
      expect(out.archs[0]?.packages.some((p) => p.purl.startsWith('pkg:apk/'))).toBe(true);
    },
  );
});
