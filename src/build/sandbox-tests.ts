import { cp, mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { OciLayout } from '../oci/layout.ts';
import type { Descriptor } from '../oci/media-types.ts';
import type { TestOutcome } from '../model/build-result.ts';
import { PermanentError } from '../errors.ts';
import type { RecipeTest } from '../recipe/schema.ts';
import { cachedRoot, runImageTests, unpackLayout } from '../sandbox/index.ts';

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

/** Per Debian release arch: its GNU multiarch triplet (`/usr/lib/<triplet>`) and glibc's loader. */
const debianArchs: Readonly<Record<string, { triplet: string; loader: string }>> = {
  amd64: { triplet: 'x86_64-linux-gnu', loader: '/lib64/ld-linux-x86-64.so.2' },
  arm64: { triplet: 'aarch64-linux-gnu', loader: '/lib/ld-linux-aarch64.so.1' },
  armel: { triplet: 'arm-linux-gnueabi', loader: '/lib/ld-linux.so.3' },
  armhf: { triplet: 'arm-linux-gnueabihf', loader: '/lib/ld-linux-armhf.so.3' },
  i386: { triplet: 'i386-linux-gnu', loader: '/lib/ld-linux.so.2' },
  loong64: { triplet: 'loongarch64-linux-gnu', loader: '/lib64/ld-linux-loongarch-lp64d.so.1' },
  mips64el: { triplet: 'mips64el-linux-gnuabi64', loader: '/lib64/ld.so.1' },
  ppc64el: { triplet: 'powerpc64le-linux-gnu', loader: '/lib64/ld64.so.2' },
  riscv64: { triplet: 'riscv64-linux-gnu', loader: '/lib/ld-linux-riscv64-lp64d.so.1' },
  s390x: { triplet: 's390x-linux-gnu', loader: '/lib/ld64.so.1' },
};

/**
 * A recipe test with its placeholders filled for one build, in `run` and `expect-output`:
 * `${version}`, `${arch}` (Debian's name, `amd64`), `${triplet}` (`x86_64-linux-gnu`) and
 * `${loader}` (glibc's dynamic loader, `/lib64/ld-linux-x86-64.so.2`), so one test can name the
 * paths that differ per arch.
 */
export function substituted(
  test: RecipeTest,
  build: { arch: string; version: string },
): RecipeTest {
  const known = debianArchs[build.arch];
  const fill = (s: string, where: string): string => {
    let out = s.replaceAll('${version}', build.version).replaceAll('${arch}', build.arch);
    for (const key of ['triplet', 'loader'] as const) {
      const placeholder = `\${${key}}`;
      if (!out.includes(placeholder)) continue;
      if (!known)
        throw new PermanentError(
          `test ${JSON.stringify(test.name ?? test.run.join(' '))}: ${where} uses ${placeholder}, which kiln does not know for arch ${build.arch}`,
        );
      out = out.replaceAll(placeholder, known[key]);
    }
    return out;
  };
  return {
    ...test,
    run: test.run.map((a) => fill(a, 'run')),
    ...(test['expect-output'] !== undefined
      ? { 'expect-output': fill(test['expect-output'], 'expect-output') }
      : {}),
  };
}

/** What an external builder hands the sandbox: one arch's image in a layout, and the tests. */
export interface ImageTestRequest {
  layoutDir: string;
  manifest: Descriptor;
  arch: string;
  tests: readonly RecipeTest[];
  /** A scratch folder for the unpacked root; removed afterwards. */
  workDir: string;
  /**
   * kiln's cache folder: when given, the unpacked root is kept there by manifest digest
   * (src/sandbox/root-cache.ts) and mounted read-only, the tests getting their own /tmp.
   */
  cacheDir?: string;
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
  const scratch = path.join(request.workDir, 'rootfs');
  try {
    let rootfs = scratch;
    let tmpDir: string | undefined;
    if (request.cacheDir) {
      rootfs = await cachedRoot(request.layoutDir, request.manifest.digest, request.cacheDir);
      // The image's own /tmp, as a fresh writable copy for this run.
      tmpDir = path.join(request.workDir, 'tmp');
      await mkdir(request.workDir, { recursive: true });
      await cp(path.join(rootfs, 'tmp'), tmpDir, { recursive: true, verbatimSymlinks: true });
    } else await unpackLayout(request.layoutDir, request.manifest.digest, scratch);
    return await runImageTests({
      rootfs,
      ...(tmpDir ? { tmpDir } : {}),
      tests: request.tests.map((t) => substituted(t, request)),
      env: image?.Env ?? undefined,
      user: image?.User || undefined,
      workdir: image?.WorkingDir || undefined,
      arch: request.arch,
      signal: request.signal,
      onLogLine: request.onLogLine,
    });
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await rm(path.join(request.workDir, 'tmp'), { recursive: true, force: true });
  }
}
