import { rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { OciLayout } from '../oci/layout.ts';
import type { Descriptor } from '../oci/media-types.ts';
import type { TestOutcome } from '../model/build-result.ts';
import type { RecipeTest } from '../recipe/schema.ts';
import { runImageTests, unpackLayout } from '../sandbox/index.ts';

const manifestSchema = z.object({
  config: z.object({ digest: z.string().regex(/^sha256:[a-f0-9]{64}$/) }),
});
const configSchema = z.object({
  config: z
    .object({
      Env: z.array(z.string()).nullish(),
      User: z.string().nullish(),
      WorkingDir: z.string().nullish(),
    })
    .nullish(),
});

/** What an external builder hands the sandbox: one arch's image in a layout, and the tests. */
export interface ImageTestRequest {
  layoutDir: string;
  manifest: Descriptor;
  arch: string;
  tests: readonly RecipeTest[];
  /** A scratch folder for the unpacked root; removed afterwards. */
  workDir: string;
  version: string;
  signal: AbortSignal;
  onLogLine?: (line: string) => void;
}

/**
 * Runs the recipe's tests inside a built image with the project's sandbox (src/sandbox:
 * bubblewrap, no network, read-only root), with the image's own environment, user and folder.
 * A failing test throws the sandbox's PermanentError, carrying the command's output.
 */
export async function testInSandbox(request: ImageTestRequest): Promise<TestOutcome[]> {
  const layout = new OciLayout(request.layoutDir);
  const manifest = manifestSchema.parse(await layout.readJson(request.manifest.digest));
  const image = configSchema.parse(await layout.readJson(manifest.config.digest)).config;
  const rootfs = path.join(request.workDir, 'rootfs');
  try {
    await unpackLayout(request.layoutDir, request.manifest.digest, rootfs);
    return await runImageTests({
      rootfs,
      tests: request.tests.map((t) => ({
        ...t,
        ...(t['expect-output'] !== undefined
          ? { 'expect-output': t['expect-output'].replaceAll('${version}', request.version) }
          : {}),
      })),
      env: image?.Env ?? undefined,
      user: image?.User || undefined,
      workdir: image?.WorkingDir || undefined,
      signal: request.signal,
      onLogLine: request.onLogLine,
    });
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}
