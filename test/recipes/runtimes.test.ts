import { copyFile, lstat, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createDebianBuilder } from '../../src/build/debian/index.ts';
import { hostArch } from '../../src/build/host-arch.ts';
import type { BuildOutput } from '../../src/build/types.ts';
import { OciLayout } from '../../src/oci/layout.ts';
import { loadRecipeFile } from '../../src/recipe/index.ts';
import type { Recipe, RecipeTest } from '../../src/recipe/schema.ts';
import { streamRecipe } from '../../src/recipe/streams.ts';
import { runImageTests, unpackLayout } from '../../src/sandbox/index.ts';
import { buildInput } from '../debian/fixtures.ts';
import { testCatalogCacheDir } from '../helpers/stack.ts';

/*
 * The runtime recipes (base, base-nossl, cc, java 21 and 25, ruby, php) against the real Debian archive,
 * for amd64 and arm64: each recipe's own tests run under bubblewrap in the builder (arm64 under
 * qemu-user-static when binfmt_misc has it, as scripts/setup.sh registers it; base, base-nossl
 * and cc name their per-arch loader and library paths with ${loader} and ${triplet}), then the
 * checks a recipe cannot state: what the image lacks, programs built on the host (a C++
 * program, a Java class), in the same sandbox on the unpacked image.
 * One image at a time: on 2 shared cores, building them concurrently measured no faster.
 */
const cacheDir = testCatalogCacheDir();
const builder = createDebianBuilder({
  settings: () => ({ cacheDir }),
  sourceDateEpoch: () => undefined,
});
const archs = ['amd64', 'arm64'] as const;
type Arch = (typeof archs)[number];

/** Whether this host runs the arch's programs: natively, or through a registered qemu with the F flag. */
async function runs(arch: Arch): Promise<boolean> {
  if (arch === hostArch()) return true;
  const entry = arch === 'arm64' ? 'qemu-aarch64' : 'qemu-x86_64';
  const text = await readFile(`/proc/sys/fs/binfmt_misc/${entry}`, 'utf8').catch(() => '');
  return /^enabled$/m.test(text) && /^flags:.*F/m.test(text);
}

/** Where the multiarch libraries live, per arch. */
const multiarch: Record<Arch, { lib: string }> = {
  amd64: { lib: '/usr/lib/x86_64-linux-gnu' },
  arm64: { lib: '/usr/lib/aarch64-linux-gnu' },
};

const noShellPaths = ['bin/sh', 'bin/bash', 'bin/dash', 'bin/busybox', 'bin/dpkg', 'bin/apt'];
const noShellPackages = ['bash', 'dash', 'busybox', 'busybox-static', 'dpkg', 'apt', 'perl-base'];

async function recipe(file: string, edit?: (r: Recipe) => Recipe): Promise<Recipe> {
  const loaded = await loadRecipeFile(path.join(import.meta.dirname, '..', '..', 'recipes', file));
  if (!loaded.recipe) throw new Error(`recipe ${file}: ${JSON.stringify(loaded.problems)}`);
  return edit ? edit(loaded.recipe) : loaded.recipe;
}

const imageConfig = z.object({
  config: z.object({ digest: z.string() }),
  layers: z.array(z.object({ size: z.number() })),
});
const runConfig = z.object({
  config: z.object({
    Env: z.array(z.string()).nullish(),
    User: z.string().nullish(),
    Entrypoint: z.array(z.string()).nullish(),
  }),
});

describe.skipIf(hostArch() !== 'amd64' && hostArch() !== 'arm64')(
  'runtime recipes against the real archive, amd64 and arm64',
  () => {
    let work: string;
    const runnable = new Map<Arch, boolean>();
    beforeAll(async () => {
      work = await mkdtemp(path.join(os.tmpdir(), 'kiln-runtimes-'));
      for (const a of archs) runnable.set(a, await runs(a));
    });
    afterAll(async () => {
      await rm(work, { recursive: true, force: true });
    });

    async function build(r: Recipe, version: string, only?: Arch[]): Promise<BuildOutput> {
      return builder.build(
        buildInput(r, path.join(work, `${r.name}${r.stream ? `-${r.stream.name}` : ''}-${only?.join('-') ?? 'all'}`), {
          archs: only ?? [...archs],
          version,
        }),
      );
    }

    /**
     * Each arch's recipe tests passed, or, on an arch this host cannot run, were reported as
     * skipped with the reason (and the test says so on stderr).
     */
    function expectRecipeTests(out: BuildOutput, r: Recipe): void {
      for (const a of out.archs) {
        const arch = archs.find((x) => x === a.arch);
        expect(arch).toBeDefined();
        if (!arch) continue;
        if (runnable.get(arch)) {
          expect(a.tests.map((t) => `${a.arch} ${t.name}: ${t.status}`)).toEqual(
            r.test.map((t) => `${a.arch} ${t.name}: passed`),
          );
        } else {
          process.stderr.write(
            `${r.name} ${arch}: tests SKIPPED (qemu-user-static is not registered; run scripts/setup.sh as root)\n`,
          );
          expect(a.tests.every((t) => t.status === 'skipped' && /qemu-user-static/.test(t.note ?? ''))).toBe(true);
        }
      }
    }

    /** Unpacks one arch's image, checks it runs as nonroot and holds no shell or package manager. */
    async function unpack(out: BuildOutput, arch: Arch) {
      const a = out.archs.find((x) => x.arch === arch);
      if (!a) throw new Error(`no ${arch} image in ${out.layoutDir}`);
      const layout = new OciLayout(out.layoutDir);
      const manifest = imageConfig.parse(await layout.readJson(a.manifest.digest));
      const config = runConfig.parse(await layout.readJson(manifest.config.digest)).config;
      const rootfs = path.join(work, `${path.basename(path.dirname(out.layoutDir))}-${arch}-root`);
      await rm(rootfs, { recursive: true, force: true });
      await unpackLayout(out.layoutDir, a.manifest.digest, rootfs);
      expect(config.User).toBe('65532:65532');
      for (const p of noShellPaths)
        await expect(lstat(path.join(rootfs, 'usr', p)), `${arch}: /usr/${p}`).rejects.toThrow();
      expect(a.packages.map((p) => p.name).filter((n) => noShellPackages.includes(n))).toEqual([]);
      const compressed = manifest.layers.reduce((s, l) => s + l.size, 0);
      process.stderr.write(
        `${path.basename(path.dirname(out.layoutDir))} ${arch}: ${(compressed / 1048576).toFixed(1)} MiB compressed, ${a.packages.length} packages\n`,
      );
      const sandbox = (tests: RecipeTest[]) =>
        runImageTests({
          rootfs,
          tests,
          env: config.Env ?? undefined,
          user: config.User ?? undefined,
          timeoutMs: 300_000,
        });
      return { rootfs, packages: a.packages.map((p) => p.name), entrypoint: config.Entrypoint, sandbox };
    }

    /** Tests of an arch this host cannot run are not attempted (and said so). */
    function canRun(arch: Arch, what: string): boolean {
      if (runnable.get(arch)) return true;
      process.stderr.write(`${what} ${arch}: SKIPPED (qemu-user-static is not registered)\n`);
      return false;
    }

    it('base: its tests (glibc runs, the loader resolves libssl and libcrypto) pass on both arches', async () => {
      const r = await recipe('base.yaml');
      const out = await build(r, 'latest');
      expectRecipeTests(out, r);
      for (const arch of archs) {
        const image = await unpack(out, arch);
        expect(image.packages).toEqual(expect.arrayContaining(['libc6', 'libssl3t64', 'ca-certificates']));
        expect(image.packages).not.toContain('openssl');
      }
    }, 900_000);

    it('base-nossl: its tests (glibc runs, the loader resolves libm) pass on both arches, and the image holds no libssl or libcrypto', async () => {
      const r = await recipe('base-nossl.yaml');
      const out = await build(r, 'latest');
      expectRecipeTests(out, r);
      for (const arch of archs) {
        const image = await unpack(out, arch);
        expect(image.packages).toContain('libc6');
        expect(image.packages.filter((n) => /^libssl|^openssl/.test(n))).toEqual([]);
        const libs = await readdir(path.join(image.rootfs, multiarch[arch].lib));
        expect(libs).toContain('libc.so.6');
        expect(libs.filter((f) => /^lib(ssl|crypto)\.so/.test(f))).toEqual([]);
      }
    }, 900_000);

    it('cc: its tests (libstdc++ and libgomp load) pass on both arches; a C++ program with exceptions, threads and OpenMP runs', async () => {
      const r = await recipe('cc.yaml');
      const out = await build(r, 'latest');
      expectRecipeTests(out, r);
      const src = path.join(work, 'check.cc');
      await writeFile(
        src,
        [
          '#include <iostream>',
          '#include <map>',
          '#include <stdexcept>',
          '#include <string>',
          '#include <thread>',
          '#include <omp.h>',
          'int main() {',
          '  std::map<std::string, int> m{{"a", 1}, {"b", 2}};',
          '  int caught = 0;',
          '  try { throw std::runtime_error("x"); } catch (const std::exception &e) { caught = 1; }',
          '  int t = 0;',
          '  std::thread th([&] { t = 40; }); th.join();',
          '  int sum = 0;',
          '#pragma omp parallel for reduction(+ : sum)',
          '  for (int i = 1; i <= 100; i++) sum += i;',
          '  std::cout << "cc " << m.size() + caught + t << " " << sum << std::endl;',
          '}',
          '',
        ].join('\n'),
      );
      const compilers: Record<Arch, string> = { amd64: 'x86_64-linux-gnu-g++', arm64: 'aarch64-linux-gnu-g++' };
      for (const arch of archs) {
        const image = await unpack(out, arch);
        expect(image.packages).toEqual(expect.arrayContaining(['libstdc++6', 'libgomp1', 'libgcc-s1', 'libssl3t64']));
        if (!canRun(arch, 'cc')) continue;
        // The host's g++ builds the program for the host's arch, a cross g++ (scripts/setup.sh
        // installs g++-aarch64-linux-gnu on amd64) for the other, which runs under qemu-user-static.
        const cxx = arch === hostArch() ? 'g++' : compilers[arch];
        if ((await execa('which', [cxx], { reject: false })).exitCode !== 0) {
          process.stderr.write(`cc ${arch}: C++ program SKIPPED: no ${cxx} on this host (run scripts/setup.sh as root)\n`);
          continue;
        }
        await execa(cxx, ['-O1', '-fopenmp', '-pthread', '-o', path.join(work, `check-${arch}`), src]);
        const elf = await execa('file', ['-b', path.join(work, `check-${arch}`)], { reject: false });
        if (elf.exitCode === 0) expect(elf.stdout).toContain(arch === 'arm64' ? 'ARM aarch64' : 'x86-64');
        await mkdir(path.join(image.rootfs, 'opt'), { recursive: true });
        await copyFile(path.join(work, `check-${arch}`), path.join(image.rootfs, 'opt', 'check'));
        await image
          .sandbox([{ name: 'C++ program', run: ['/opt/check'], 'expect-output': 'cc 43 5050' }])
          .then((passed) => expect(passed.map((p) => `${arch} ${p.status}`)).toEqual([`${arch} passed`]));
      }
    }, 900_000);

    // One recipe, two streams (src/recipe/streams.ts): each stream's effective recipe installs
    // and is tested for its own JDK, the 25 stream's from openjdk-25-jre-headless.
    it.each(['21', '25'])('java %s: its tests (version, the trust store holds the CA bundle) pass on both arches; the default TrustManager trusts the bundle, SSLContext.getDefault() initialises, java.time works', async (stream) => {
      // Java's trust store (/etc/ssl/certs/java/cacerts) is written by the builder from the CA
      // bundle (src/build/debian/java-cacerts.ts), as ca-certificates-java's maintainer script
      // would: the recipe's keytool test and the class below read it.
      const r = streamRecipe(await recipe('java.yaml'), stream);
      expect(r.upstream.debian?.package).toBe(`openjdk-${stream}-jre-headless`);
      const out = await build(r, stream);
      expectRecipeTests(out, r);
      const classes = path.join(work, `java-classes-${stream}`);
      await mkdir(classes, { recursive: true });
      await writeFile(
        path.join(classes, 'Check.java'),
        [
          'import java.security.KeyStore;',
          'import java.time.*;',
          'import javax.net.ssl.*;',
          'public class Check {',
          '  public static void main(String[] a) throws Exception {',
          '    SSLContext ctx = SSLContext.getDefault();',
          '    SSLEngine engine = ctx.createSSLEngine();',
          '    TrustManagerFactory tmf = TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());',
          '    tmf.init((KeyStore) null);',
          '    int n = 0;',
          '    boolean isrg = false;',
          '    for (TrustManager tm : tmf.getTrustManagers()) if (tm instanceof X509TrustManager x)',
          '      for (java.security.cert.X509Certificate c : x.getAcceptedIssuers()) {',
          '        n++;',
          '        isrg |= c.getSubjectX500Principal().getName().equals("CN=ISRG Root X1,O=Internet Security Research Group,C=US");',
          '      }',
          '    ZonedDateTime berlin = Instant.parse("2024-07-01T00:00:00Z").atZone(ZoneId.of("Europe/Berlin"));',
          '    System.out.println("tls=" + ctx.getProtocol() + " tls13=" + java.util.Arrays.asList(engine.getSupportedProtocols()).contains("TLSv1.3")',
          '      + " leap=" + LocalDate.of(2024, 2, 28).plusDays(1) + " berlin=" + berlin.getOffset() + " trusted>100=" + (n > 100) + " isrg=" + isrg + " anchors=" + n);',
          '  }',
          '}',
          '',
        ].join('\n'),
      );
      await execa('javac', ['--release', '17', '-d', classes, path.join(classes, 'Check.java')]);
      for (const arch of archs) {
        const image = await unpack(out, arch);
        expect(image.entrypoint).toEqual(['/usr/lib/jvm/default-java/bin/java', '-jar']);
        expect(image.packages).toEqual(expect.arrayContaining([`openjdk-${stream}-jre-headless`, 'tzdata']));
        // Only the stream's JDK: no default-jre-headless pulling in trixie's default (21).
        expect(image.packages.filter((n) => /^openjdk-/.test(n))).toEqual([`openjdk-${stream}-jre-headless`]);
        const jdk = out.archs.find((a) => a.arch === arch)?.packages.find((p) => p.name === `openjdk-${stream}-jre-headless`);
        expect(jdk?.version).toMatch(new RegExp(`^${stream}\\.`));
        if (!canRun(arch, 'java')) continue;
        await mkdir(path.join(image.rootfs, 'opt', 'check'), { recursive: true });
        await copyFile(path.join(classes, 'Check.class'), path.join(image.rootfs, 'opt', 'check', 'Check.class'));
        await image.sandbox([
          {
            name: 'TLS and java.time',
            run: ['/usr/lib/jvm/default-java/bin/java', '-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', '-cp', '/opt/check', 'Check'],
            'expect-output': 'tls=Default tls13=true leap=2024-02-29 berlin=+02:00 trusted>100=true isrg=true anchors=',
          },
        ]).then((passed) => expect(passed.map((p) => p.status)).toEqual(['passed']));
      }
    }, 900_000);

    it('ruby 3.3: its tests (openssl with the CA bundle, json, no shell) pass on both arches', async () => {
      const r = await recipe('ruby.yaml');
      const out = await build(r, '3.3');
      expectRecipeTests(out, r);
      for (const arch of archs) {
        const image = await unpack(out, arch);
        expect(image.packages).toEqual(expect.arrayContaining(['ruby3.3', 'libruby3.3', 'libssl3t64']));
      }
    }, 900_000);

    it('php 8.4: its tests (openssl with the CA bundle, json, no shell) pass on both arches', async () => {
      const r = await recipe('php.yaml');
      const out = await build(r, '8.4');
      expectRecipeTests(out, r);
      for (const arch of archs) {
        const image = await unpack(out, arch);
        expect(image.packages).toEqual(expect.arrayContaining(['php8.4-cli', 'libssl3t64']));
      }
    }, 900_000);
  },
);
