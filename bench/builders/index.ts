/*
 * bench:builders — the same small multi-stage Dockerfile (a RUN step on a local base, output
 * copied onto scratch), built by kiln's dockerfile builder on buildah, beside `buildah bud` run
 * by hand with the same flags on fresh private vfs storage (removed afterwards in both, inside
 * the timing, since kiln removes its storage as part of the job). Prints the median wall times and
 * kiln's overhead ratio (goal: under 1.10). Bounded: a few runs each, each with a time limit.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { createDockerfileBuilder } from '../../src/build/dockerfile/index.ts';
import { createLogger } from '../../src/log.ts';
import { recipeSchema } from '../../src/recipe/schema.ts';
import { makeHostRootfsTar } from '../../test/build/host-rootfs.ts';

const runs = Number(process.env.BENCH_RUNS ?? 5);
const limitMs = 120_000;

const dockerfile = [
  'FROM scratch AS build',
  'ADD rootfs.tar /',
  'ARG VERSION',
  'RUN mkdir -p /out && echo "bench $VERSION" > /out/version && ls /bin > /out/programs',
  'FROM scratch',
  'COPY --from=build /out/ /',
  '',
].join('\n');

async function main(): Promise<void> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-builders-'));
  try {
    const context = path.join(dir, 'bench');
    await mkdir(context, { recursive: true });
    await writeFile(path.join(context, 'Dockerfile'), dockerfile);
    await makeHostRootfsTar(context);
    const recipeFile = path.join(dir, 'bench.yaml');
    const recipe = recipeSchema.parse({
      name: 'bench',
      description: 'bench',
      license: 'MIT',
      upstream: { github: 'example/bench' },
      build: { builder: 'dockerfile', dockerfile: { path: 'bench/Dockerfile', context: 'bench' } },
    });
    const builder = createDockerfileBuilder({
      config: {
        dockerfileBackend: 'buildah',
        buildkitAddr: undefined,
        registry: undefined,
        insecureRegistries: [],
        cacheDir: dir,
      },
    });

    // kiln's own time: everything but the span from the 'build' to the 'test' progress events,
    // which is the buildah run itself (plus reading its index). Less noisy than the wall ratio
    // on a shared machine, where buildah's own time swings by ±30% from run to run.
    const own: number[] = [];
    const kiln = async (i: number): Promise<number> => {
      const workDir = path.join(dir, `kiln-${i}`);
      const marks = new Map<string, number>();
      const started = performance.now();
      await builder.build({
        recipe,
        recipeFile,
        version: '1.0.0',
        epoch: 0,
        archs: ['amd64'],
        inputsDigest: `sha256:${'0'.repeat(64)}`,
        workDir,
        signal: AbortSignal.timeout(limitMs),
        timeoutMs: limitMs,
        sourceDateEpoch: 1_700_000_000,
        log: createLogger({ level: 'silent' }),
        annotations: {},
        onProgress: (p) => marks.set(p.stage, performance.now()),
      });
      const elapsed = performance.now() - started;
      if (i >= 0) own.push(elapsed - ((marks.get('test') ?? 0) - (marks.get('build') ?? 0)));
      await rm(workDir, { recursive: true, force: true });
      return elapsed;
    };
    const byHand = async (i: number): Promise<number> => {
      const work = path.join(dir, `hand-${i}`);
      const started = performance.now();
      await execa(
        'buildah',
        [
          ...[
            '--root',
            path.join(work, 'root'),
            '--runroot',
            path.join(work, 'run'),
            '--storage-driver',
            'vfs',
          ],
          'bud',
          ...[
            '--isolation',
            'chroot',
            '--format',
            'oci',
            '--timestamp',
            '1700000000',
            '--identity-label=false',
          ],
          ...['--build-arg', 'VERSION=1.0.0', '--build-arg', 'SOURCE_DATE_EPOCH=1700000000'],
          ...[
            '--file',
            path.join(context, 'Dockerfile'),
            '--tag',
            `oci:${path.join(work, 'layout')}:amd64`,
            context,
          ],
        ],
        { timeout: limitMs },
      );
      // Like kiln, leave only the layout: the private storage is removed inside the timing.
      await rm(path.join(work, 'root'), { recursive: true, force: true });
      await rm(path.join(work, 'run'), { recursive: true, force: true });
      const elapsed = performance.now() - started;
      await rm(work, { recursive: true, force: true });
      return elapsed;
    };

    // One untimed warm-up of each, then alternate so drift hits both alike.
    await kiln(-1);
    await byHand(-1);
    const times = { kiln: [] as number[], hand: [] as number[] };
    for (let i = 0; i < runs; i++) {
      times.hand.push(await byHand(i));
      times.kiln.push(await kiln(i));
    }
    const median = (xs: number[]) =>
      [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
    const k = median(times.kiln);
    const h = median(times.hand);
    const s = (ms: number) => (ms / 1000).toFixed(3);
    console.log(
      `# bench:builders (${runs} runs each, median wall time, ${os.availableParallelism()} cores)\n`,
    );
    console.log('| build | median (s) | min (s) | max (s) |');
    console.log('| --- | ---: | ---: | ---: |');
    console.log(
      `| \`buildah bud\` by hand | ${s(h)} | ${s(Math.min(...times.hand))} | ${s(Math.max(...times.hand))} |`,
    );
    console.log(
      `| kiln dockerfile builder (buildah) | ${s(k)} | ${s(Math.min(...times.kiln))} | ${s(Math.max(...times.kiln))} |`,
    );
    console.log(
      `| kiln's own time outside buildah | ${s(median(own))} | ${s(Math.min(...own))} | ${s(Math.max(...own))} |`,
    );
    console.log(
      `\nkiln overhead ratio (wall, medians): **${(k / h).toFixed(3)}** (${((k / h - 1) * 100).toFixed(1)}%; goal < 10%)`,
    );
    console.log(
      `kiln's own time as a share of the by-hand build: **${((median(own) / h) * 100).toFixed(1)}%**`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
