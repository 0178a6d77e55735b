import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Job, Queue, QueueEvents } from 'bullmq';
import { loadConfig } from '../../src/config.ts';
import { createLogger } from '../../src/log.ts';
import { createPipelineContext, type PipelineContext } from '../../src/pipeline/context.ts';
import { inProcessProcessors, pipelineProcessors } from '../../src/pipeline/processors.ts';
import { redisOptions } from '../../src/queue/connection.ts';
import { QueueName } from '../../src/queue/names.ts';
import type { BuildRequest } from '../../src/model/build-request.ts';
import type { PublishResult } from '../../src/model/publish-result.ts';
import { startWorkers, type PipelineWorkers, type Processors } from '../../src/queue/workers.ts';
import { startPlanningWatcher, type PlanningWatcher } from '../../src/run/up.ts';
import { generateKeyPair } from '../../src/sign/keys.ts';
import type { DebianTestRepo } from '../helpers/debian-repo.ts';
import { envtoolRecipe } from '../helpers/envtool.ts';
import { uniqueName } from '../helpers/stack.ts';
import { handClock, type HandClock } from './hand-clock.ts';

/*
 * What the reconcile tests run: `kiln watch` and `kiln worker` as `kiln up` wires them
 * (startPlanningWatcher, the real processors: debian builder, registry, signer, catalog), over a
 * Redis and a registry the test may flush, stop or swap, a local signed Debian repository as the
 * upstream and the archive (the envtool fixture, test/helpers/envtool.ts), and a clock moved by
 * hand for the reconcile interval.
 */

/** Holds the first build before its builder runs until released, and tells when it has ended. */
export function holdFirstBuild(real: Processors) {
  let started: () => void = () => {};
  let release: () => void = () => {};
  let ended: () => void = () => {};
  const gate = {
    started: new Promise<void>((r) => (started = r)),
    released: new Promise<void>((r) => (release = r)),
    ended: new Promise<void>((r) => (ended = r)),
    requests: [] as BuildRequest[],
    release: () => release(),
  };
  let held = false;
  const processors: Processors = {
    build: async (data, job) => {
      gate.requests.push(data.request);
      if (held) return real.build(data, job);
      held = true;
      started();
      await gate.released;
      try {
        return await real.build(data, job);
      } finally {
        ended();
      }
    },
    publish: (data, builds, job) => real.publish(data, builds, job),
  };
  return { gate, processors };
}

export interface Fleet {
  ctx: PipelineContext;
  prefix: string;
  namespace: string;
  env: Record<string, string>;
  clock: HandClock;
  up: PlanningWatcher;
  publish: Queue;
  events: QueueEvents;
  /** Every build request the workers took, in order. */
  builds: BuildRequest[];
  /** Waits for a publish job by id; undefined when it does not exist. */
  published(id: string): Promise<PublishResult>;
  close(): Promise<void>;
}

export const reconcileIntervalMs = 10 * 60_000;

/** Starts the watcher (with its reconcile) and the workers for one test: its own prefix and namespace. */
export async function startFleet(options: {
  redisUrl: string;
  registryHost: string;
  repo: DebianTestRepo;
  /** Wraps the real processors (e.g. to hold a build); they run in this process then. */
  processors?: (real: Processors) => Processors;
  /** Runs the real processor files (workers/) in a child process per job, as `kiln worker` does. */
  sandboxed?: boolean;
}): Promise<Fleet> {
  const work = await mkdtemp(path.join(os.tmpdir(), 'kiln-reconcile-'));
  const recipes = path.join(work, 'recipes');
  await mkdir(recipes, { recursive: true });
  await writeFile(
    path.join(recipes, 'envtool.yaml'),
    envtoolRecipe({
      description: 'env from a local signed Debian repository (kiln reconcile test)',
    }),
  );
  const pair = generateKeyPair();
  const keyFile = path.join(work, 'cosign.key');
  await writeFile(keyFile, pair.privatePem, { mode: 0o600 });
  const prefix = uniqueName('reconcile');
  const namespace = uniqueName('rec');
  const env: Record<string, string> = {
    KILN_REDIS_URL: options.redisUrl,
    KILN_REGISTRY: `${options.registryHost}/${namespace}`,
    KILN_QUEUE_PREFIX: prefix,
    KILN_SIGNING_KEY: keyFile,
    KILN_DEBIAN_MIRROR: options.repo.url,
    KILN_DEBIAN_SECURITY_MIRROR: options.repo.url,
    KILN_DEBIAN_KEYRING: options.repo.keyring,
    KILN_CACHE_DIR: path.join(work, 'cache'),
    KILN_STATE_DIR: path.join(work, 'state'),
    KILN_RECIPES_DIR: recipes,
    KILN_POLL_INTERVAL: '1h',
    KILN_RECONCILE_INTERVAL: `${reconcileIntervalMs / 1000}s`,
    KILN_CONCURRENCY: '2',
    KILN_LOG_LEVEL: process.env.KILN_TEST_LOG ?? 'silent',
  };
  // The debian builder reads its mirrors, keyring and cache from the environment at call time
  // (src/build/registry.ts): this test file's process gets the local repository's.
  for (const name of [
    'KILN_DEBIAN_MIRROR',
    'KILN_DEBIAN_SECURITY_MIRROR',
    'KILN_DEBIAN_KEYRING',
    'KILN_CACHE_DIR',
  ])
    process.env[name] = env[name];
  const config = loadConfig(env);
  const log = createLogger({ level: config.logLevel });
  const ctx = await createPipelineContext(config, log);
  const real = inProcessProcessors(ctx);
  const builds: BuildRequest[] = [];
  const counted: Processors = {
    build: (data, job) => {
      builds.push(data.request);
      return real.build(data, job);
    },
    publish: real.publish,
  };
  const workers: PipelineWorkers = startWorkers({
    connection: redisOptions(options.redisUrl),
    prefix,
    concurrency: 2,
    processors: options.sandboxed
      ? pipelineProcessors(ctx)
      : options.processors
        ? options.processors(counted)
        : counted,
    log,
    jobTimeoutMs: 600_000,
    // Five attempts in well under a second: "longer than the retries" without the wait.
    backoffMs: 20,
  });
  const clock = handClock(1_800_000_000_000);
  const up = startPlanningWatcher(ctx, recipes, { clock });
  const connection = redisOptions(options.redisUrl);
  const publish = new Queue(QueueName.publish, { connection, prefix });
  const events = new QueueEvents(QueueName.publish, { connection, prefix });
  await events.waitUntilReady();
  return {
    ctx,
    prefix,
    namespace,
    env,
    clock,
    up,
    publish,
    events,
    builds,
    async published(id) {
      const job = await Job.fromId(publish, id);
      if (!job) throw new Error(`publish job ${id} does not exist`);
      return job.waitUntilFinished(events, 600_000) as Promise<PublishResult>;
    },
    async close() {
      await up.stop();
      await workers.drain();
      await events.close();
      await publish.close();
      await ctx.close();
      await rm(work, { recursive: true, force: true });
    },
  };
}

/** The digest a tag points at (Docker-Content-Digest), or undefined when the tag is missing. */
export async function tagDigest(
  host: string,
  repository: string,
  tag: string,
): Promise<string | undefined> {
  const res = await fetch(`http://${host}/v2/${repository}/manifests/${tag}`, {
    method: 'HEAD',
    headers: {
      accept: 'application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json',
    },
  });
  return res.status === 200 ? (res.headers.get('docker-content-digest') ?? undefined) : undefined;
}

/** Every tag of a repository that is not a cosign supplement (`sha256-….sig/.att`). */
export async function imageTags(host: string, repository: string): Promise<string[]> {
  const res = await fetch(`http://${host}/v2/${repository}/tags/list`);
  if (res.status !== 200) return [];
  const body = (await res.json()) as { tags: string[] | null };
  return (body.tags ?? []).filter((t) => !t.startsWith('sha256-')).sort();
}

/** How many signatures the cosign `.sig` manifest of `digest` holds (its layers). */
export async function signatureLayers(
  host: string,
  repository: string,
  digest: string,
): Promise<number> {
  const res = await fetch(
    `http://${host}/v2/${repository}/manifests/sha256-${digest.slice('sha256:'.length)}.sig`,
    { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } },
  );
  if (res.status !== 200) return 0;
  return ((await res.json()) as { layers: unknown[] }).layers.length;
}
