/*
 * bench/publish: what publishing costs on the wire, kiln beside `skopeo copy` of the same layout,
 * both through one counting proxy in front of a local docker-registry.
 *
 *   1. first publish of the python image (2 arches);
 *   2. re-publish of the identical image (goal: nothing but HEAD requests);
 *   3. a one-package nano update (goal: only the changed layer, the manifests, and the new
 *      signature and attestations).
 *
 * The layout has the python image's shape (per arch: a ~28 MB Debian base layer, a ~16 MB
 * python layer, a small layer for one package); set KILN_BENCH_SCALE=0.1 for a quick run.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { OciLayout } from '../../src/oci/layout.ts';
import { MediaType, platformOf, type Descriptor } from '../../src/oci/media-types.ts';
import { RegistryClient } from '../../src/oci/registry-client.ts';
import { assembleIndex, publishImage, pushArchImage } from '../../src/publish/index.ts';
import type { BuildRequest } from '../../src/model/build-request.ts';
import type { BuildResult } from '../../src/model/build-result.ts';
import { generateKeyPair, loadPrivateKey } from '../../src/sign/keys.ts';
import { createSigner } from '../../src/sign/signer.ts';
import { startRegistry } from '../../src/local-services/registry.ts';
import { fixed, printTable } from '../lib/table.ts';
import { startCountingProxy, type Counts } from './counting-proxy.ts';

const run = promisify(execFile);
const scale = Number(process.env.KILN_BENCH_SCALE ?? 1);
const archs = ['amd64', 'arm64'];
const MB = 1024 * 1024;

interface Layers {
  base: Buffer;
  python: Buffer;
}

/** One layout per version: shared base and python layers, a one-package layer that changes. */
async function makeLayout(
  dir: string,
  layers: Map<string, Layers>,
  packageLayer: string,
  version: string,
  epoch: number,
) {
  const layout = await OciLayout.create(dir);
  const archResults: BuildResult[] = [];
  for (const arch of archs) {
    const l = layers.get(arch)!;
    const base = await layout.writeBlob(l.base, MediaType.layerGzip);
    const python = await layout.writeBlob(l.python, MediaType.layerGzip);
    const pkg = await layout.writeBlob(
      Buffer.concat([
        Buffer.from(`${packageLayer}-${arch}`),
        randomBytes(Math.round(200 * 1024 * scale)),
      ]),
      MediaType.layerGzip,
    );
    const config = await layout.writeJson(
      {
        architecture: platformOf(arch).architecture,
        os: 'linux',
        config: { Cmd: ['python3'] },
        rootfs: { type: 'layers', diff_ids: [base.digest, python.digest, pkg.digest] },
      },
      MediaType.imageConfig,
    );
    const manifest: Descriptor = {
      ...(await layout.writeJson(
        {
          schemaVersion: 2,
          mediaType: MediaType.imageManifest,
          config,
          layers: [base, python, pkg],
        },
        MediaType.imageManifest,
      )),
      platform: platformOf(arch),
    };
    archResults.push({
      arch,
      manifest,
      size: base.size + python.size + pkg.size + config.size,
      packages: Array.from({ length: 120 }, (_, i) => ({
        name: `pkg${i}`,
        version: `1.${i}`,
        purl: `pkg:deb/debian/pkg${i}@1.${i}?arch=${arch}`,
      })),
      materials: [],
      tests: [],
      builder: { id: 'debian', version: '1' },
      startedAt: '2025-01-01T00:00:00Z',
      finishedAt: '2025-01-01T00:01:00Z',
    });
  }
  const request: BuildRequest = {
    recipe: 'python',
    recipeFile: 'recipes/python.yaml',
    version,
    epoch,
    inputsDigest: `sha256:${(packageLayer + '0'.repeat(64)).slice(0, 64).replace(/[^a-f0-9]/g, 'a')}`,
    archs,
    stream: '3',
    tags: [`${version}-r${epoch}`, version, '3.12', '3', 'latest'],
    versionScheme: 'semver',
    repository: 'python',
    priority: 'upstream',
    reason: 'bench',
    upstream: { releasedAt: '2025-01-01T00:00:00Z' },
    requestedAt: '2025-01-01T00:00:00Z',
  };
  // skopeo reads the layout's root: the same index kiln assembles.
  const index = assembleIndex(request, archResults, '2025-01-01T00:00:00Z');
  await layout.writeBlob(index.bytes, MediaType.imageIndex);
  await layout.setRoot(index.descriptor, 'bench');
  return { dir, archResults, request };
}

interface Row {
  scenario: string;
  tool: string;
  ms: number;
  counts: Counts;
}

async function main(): Promise<void> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-bench-publish-'));
  const registry = await startRegistry({ dataDir: path.join(work, 'registry') });
  const proxy = await startCountingProxy(registry.host);
  const policy = path.join(work, 'policy.json');
  await writeFile(policy, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
  const rows: Row[] = [];
  try {
    const layers = new Map(
      archs.map((a) => [
        a,
        {
          base: randomBytes(Math.round(28 * MB * scale)),
          python: randomBytes(Math.round(16 * MB * scale)),
        },
      ]),
    );
    const first = await makeLayout(path.join(work, 'v1'), layers, 'pkg-a', '3.12.7', 0);
    const nano = await makeLayout(path.join(work, 'v1-r1'), layers, 'pkg-b', '3.12.7', 1);
    const signer = createSigner(
      loadPrivateKey(generateKeyPair().privatePem, undefined, 'bench key'),
    );

    const kiln = async (scenario: string, l: typeof first) => {
      const client = new RegistryClient({ host: proxy.host });
      proxy.reset();
      const start = performance.now();
      for (const r of l.archResults) await pushArchImage(client, 'python', l.dir, r.manifest);
      await publishImage({
        client,
        repository: 'python',
        request: l.request,
        archResults: l.archResults,
        signer,
      });
      rows.push({
        scenario,
        tool: 'kiln (push + sign + attest + tags)',
        ms: performance.now() - start,
        counts: proxy.reset(),
      });
    };
    const skopeo = async (scenario: string, l: typeof first) => {
      proxy.reset();
      const start = performance.now();
      await run('skopeo', [
        '--policy',
        policy,
        'copy',
        '--all',
        '--preserve-digests',
        '--dest-tls-verify=false',
        `oci:${l.dir}:bench`,
        `docker://${proxy.host}/python-skopeo:${l.request.tags[0]}`,
      ]);
      rows.push({
        scenario,
        tool: 'skopeo copy --all (push only)',
        ms: performance.now() - start,
        counts: proxy.reset(),
      });
    };

    for (const [scenario, layout] of [
      ['1. first publish', first],
      ['2. re-publish identical', first],
      ['3. nano update (1 package)', nano],
    ] as const) {
      await kiln(scenario, layout);
      await skopeo(scenario, layout);
    }
  } finally {
    await proxy.stop();
    await registry.stop();
    await rm(work, { recursive: true, force: true });
  }

  printTable(
    `bench/publish: python-shaped image, ${archs.length} arches, scale ${scale} (local docker-registry, same counting proxy for both)`,
    ['scenario', 'tool', 'time (ms)', 'bytes pushed', 'HEAD', 'GET', 'PUT', 'POST', 'PATCH'],
    rows.map((r) => [
      r.scenario,
      r.tool,
      fixed(r.ms, 0),
      bytes(r.counts.bytesUp),
      ...['HEAD', 'GET', 'PUT', 'POST', 'PATCH'].map((m) => r.counts.requests[m] ?? 0),
    ]),
  );
}

function bytes(n: number): string {
  return n >= MB ? `${fixed(n / MB, 2)} MiB` : n >= 1024 ? `${fixed(n / 1024, 1)} KiB` : `${n} B`;
}

await main();
