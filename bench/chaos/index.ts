import { createPublicKey } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Queue } from 'bullmq';
import { execa, type ResultPromise } from 'execa';
import { startRedis } from '../../src/local-services/redis.ts';
import { startRegistry, type LocalRegistry } from '../../src/local-services/registry.ts';
import { freePort } from '../../src/local-services/ports.ts';
import { createRedis, redisOptions } from '../../src/queue/connection.ts';
import { QueueName } from '../../src/queue/names.ts';
import { RegistryClient } from '../../src/oci/registry-client.ts';
import { generateKeyPair } from '../../src/sign/keys.ts';
import { verifyImage } from '../../src/sign/verify.ts';
import { envtoolRecipe, makeEnvtoolRepo } from '../../test/helpers/envtool.ts';
import { startLocalNpm } from '../../test/servers/npm.ts';
import { benchStack } from '../lib/stack.ts';
import { fixed, printTable } from '../lib/table.ts';

/*
 * Chaos: a fleet of one `kiln watch` and three `kiln worker` processes (real processes, as an
 * operator runs them) over 20 npm-tracked recipes built from a local signed Debian repository,
 * with one Redis and one registry. Before each fault, five recipes get a new npm release; once
 * their builds or publishes run, the fault strikes: a worker SIGKILLed mid-build, one mid-publish,
 * the registry stopped for 120 s mid-publish, Redis restarted, Redis flushed. After each fault the
 * bench waits until every image planned so far carries its tag (the time to converge). The
 * reconcile loop (KILN_RECONCILE_INTERVAL) is what heals losses. At the end every tag in the
 * registry is verified with kiln's public key (src/sign verifyImage, as `kiln verify` does).
 *
 * BENCH_BUDGET_S (default 720) bounds the run; what is unpublished then counts as lost.
 */

const budgetMs = Number(process.env.BENCH_BUDGET_S ?? 720) * 1000;
const outageMs = Number(process.env.BENCH_OUTAGE_S ?? 120) * 1000;
const recipeCount = 20;
const started = Date.now();
const deadline = started + budgetMs;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const elapsed = () => `${fixed((Date.now() - started) / 1000, 0)} s`;
const note = (text: string) => process.stderr.write(`[chaos ${elapsed()}] ${text}\n`);

interface Planned {
  recipe: string;
  version: string;
}

async function main(): Promise<void> {
  const stack = await benchStack();
  const work = stack.dir;
  let redis = stack.redis;
  const redisPort = redis.port;
  const registryPort = await freePort();
  const registryData = path.join(work, 'registry');
  let registry: LocalRegistry = await startRegistry({ dataDir: registryData, port: registryPort });
  const host = registry.host;
  const repo = await makeEnvtoolRepo({ version: '1.0-1' });
  const npm = await startLocalNpm();
  const recipesDir = path.join(work, 'recipes');
  await mkdir(recipesDir, { recursive: true });
  const names = Array.from({ length: recipeCount }, (_, i) => `chaos${i}`);
  const planned: Planned[] = [];
  for (const name of names) {
    npm.packages.set(`${name}-pkg`, {
      name: `${name}-pkg`,
      versions: [{ version: '1.0.0', time: '2024-01-01T00:00:00.000Z' }],
    });
    planned.push({ recipe: name, version: '1.0.0' });
    await writeFile(
      path.join(recipesDir, `${name}.yaml`),
      envtoolRecipe({
        name,
        description: 'chaos benchmark image (npm upstream, Debian contents)',
        upstream: { npm: `${name}-pkg` },
      }),
    );
  }
  const pair = generateKeyPair();
  const keyFile = path.join(work, 'cosign.key');
  await writeFile(keyFile, pair.privatePem, { mode: 0o600 });
  const publicKey = createPublicKey(pair.publicPem);
  const namespace = 'chaos';
  const prefix = 'chaos';

  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('KILN_') && k !== 'GITHUB_TOKEN'),
  );
  const env = {
    ...inherited,
    KILN_RECIPES_DIR: recipesDir,
    KILN_STATE_DIR: path.join(work, 'state'),
    KILN_CACHE_DIR: path.join(work, 'cache'),
    KILN_REGISTRY: `${host}/${namespace}`,
    KILN_REDIS_URL: redis.url,
    KILN_QUEUE_PREFIX: prefix,
    KILN_SIGNING_KEY: keyFile,
    KILN_DEBIAN_MIRROR: repo.url,
    KILN_DEBIAN_SECURITY_MIRROR: repo.url,
    KILN_DEBIAN_KEYRING: repo.keyring,
    KILN_NPM_REGISTRY: npm.url,
    KILN_POLL_INTERVAL: '15s',
    KILN_RECONCILE_INTERVAL: '30s',
    KILN_CONCURRENCY: '1',
    KILN_LOG_LEVEL: 'warn',
  };
  const tail: string[] = [];
  const spawnKiln = (args: string[], extra: Record<string, string> = {}): ResultPromise => {
    const p = execa('node', ['bin/kiln.js', ...args], {
      env: { ...env, ...extra },
      extendEnv: false,
      reject: false,
      all: true,
    });
    p.all?.on('data', (c: Buffer) => {
      tail.push(...c.toString('utf8').split('\n').filter(Boolean));
      tail.splice(0, Math.max(0, tail.length - 200));
    });
    return p;
  };
  const watcher = spawnKiln(['watch'], { KILN_API_PORT: String(await freePort()) });
  const workers: ResultPromise[] = [0, 1, 2].map(() => spawnKiln(['worker']));

  const client = new RegistryClient({ host, insecure: true });
  const tagsOf = async (recipe: string): Promise<string[]> => {
    const res = await fetch(`http://${host}/v2/${namespace}/${recipe}/tags/list`).catch(
      () => undefined,
    );
    if (!res || res.status !== 200) return [];
    return ((await res.json()) as { tags: string[] | null }).tags ?? [];
  };
  const missing = async (): Promise<Planned[]> => {
    const out: Planned[] = [];
    for (const p of planned) if (!(await tagsOf(p.recipe)).includes(`${p.version}-r0`)) out.push(p);
    return out;
  };
  /** Waits until every planned image is tagged; the time it took, or undefined at the deadline. */
  const converge = async (from: number): Promise<number | undefined> => {
    while (Date.now() < deadline) {
      if ((await missing()).length === 0) return Date.now() - from;
      await sleep(1000);
    }
    return undefined;
  };
  const queues = () => {
    const connection = redisOptions(redis.url);
    return {
      build: new Queue(QueueName.build, { connection, prefix }),
      publish: new Queue(QueueName.publish, { connection, prefix }),
    };
  };
  /** Waits (up to `ms`) until a job of `queue` is active. */
  const whileActive = async (queue: 'build' | 'publish', ms: number): Promise<boolean> => {
    const q = queues();
    try {
      const until = Math.min(deadline, Date.now() + ms);
      while (Date.now() < until) {
        if ((await q[queue].getActiveCount()) > 0) return true;
        await sleep(200);
      }
      return false;
    } finally {
      await Promise.all([q.build.close(), q.publish.close()]);
    }
  };
  let releaseRound = 0;
  const release = () => {
    releaseRound += 1;
    const version = `1.${releaseRound}.0`;
    for (let i = 0; i < 5; i++) {
      const name = names[((releaseRound - 1) * 5 + i) % recipeCount] ?? '';
      npm.packages.get(`${name}-pkg`)?.versions.push({ version, time: new Date().toISOString() });
      const earlier = planned.findIndex((p) => p.recipe === name);
      planned.splice(earlier, 1, { recipe: name, version });
    }
    return version;
  };
  const killWorker = async () => {
    const i = Math.floor(Math.random() * workers.length);
    workers[i]?.kill('SIGKILL');
    await workers[i]?.catch(() => undefined);
    await sleep(3000);
    workers[i] = spawnKiln(['worker']);
    return i;
  };

  const rows: (string | number)[][] = [];
  let totalPlanned = planned.length;
  const fault = async (label: string, stage: 'build' | 'publish', strike: () => Promise<void>) => {
    if (Date.now() > deadline) {
      rows.push([label, 'skipped (budget)', '–']);
      return;
    }
    release();
    totalPlanned += 5;
    const hit = await whileActive(stage, 120_000);
    const at = Date.now();
    await strike();
    const ms = await converge(at);
    note(
      `${label}: ${ms === undefined ? 'not converged' : `converged in ${fixed(ms / 1000, 1)} s`}`,
    );
    rows.push([
      label,
      hit ? `during a ${stage}` : `no ${stage} running`,
      ms === undefined ? 'not by the deadline' : `${fixed(ms / 1000, 1)} s`,
    ]);
  };

  try {
    note('fleet started: 1 watcher, 3 workers, 20 recipes');
    const warm = await converge(started);
    note(
      `initial 20 images: ${warm === undefined ? 'not converged' : `${fixed(warm / 1000, 1)} s`}`,
    );
    rows.push([
      'none (cold start, 20 images)',
      '–',
      warm === undefined ? 'not by the deadline' : `${fixed(warm / 1000, 1)} s`,
    ]);
    await fault('SIGKILL a worker', 'build', async () => {
      note(`killed worker ${await killWorker()} mid-build`);
    });
    await fault('SIGKILL a worker', 'publish', async () => {
      note(`killed worker ${await killWorker()} mid-publish`);
    });
    await fault(`registry stopped ${outageMs / 1000} s`, 'publish', async () => {
      await registry.stop();
      note('registry stopped');
      await sleep(outageMs);
      registry = await startRegistry({ dataDir: registryData, port: registryPort });
      note('registry back');
    });
    await fault('Redis restarted', 'build', async () => {
      await redis.stop();
      redis = await startRedis({ dataDir: path.join(work, 'redis'), port: redisPort });
      note('redis restarted');
    });
    await fault('Redis flushed (FLUSHALL)', 'build', async () => {
      const r = createRedis(redis.url);
      await r.flushall();
      r.disconnect();
      note('redis flushed');
    });

    // The outcome, from one look at the registry (the source of truth).
    const snapshot = new Map<string, string[]>();
    for (const name of names) snapshot.set(name, await tagsOf(name));
    const lost = planned.filter((p) => !snapshot.get(p.recipe)?.includes(`${p.version}-r0`));
    let published = 0;
    let duplicates = 0;
    let unsigned = 0;
    let tags = 0;
    const verified = new Map<string, boolean>();
    for (const name of names) {
      const repository = `${namespace}/${name}`;
      const all = (snapshot.get(name) ?? []).filter((t) => !t.startsWith('sha256-'));
      const versions = new Map<string, Set<string>>();
      for (const tag of all) {
        const m = /^(.+)-r(\d+)$/.exec(tag);
        if (m) versions.set(m[1] ?? '', (versions.get(m[1] ?? '') ?? new Set()).add(m[2] ?? ''));
      }
      published += versions.size;
      for (const [version, epochs] of versions) {
        const digest = (await client.headManifest(repository, `${version}-r0`))?.digest;
        const sig = digest
          ? await client.getManifest(repository, `sha256-${digest.slice(7)}.sig`)
          : undefined;
        const layers = sig
          ? (JSON.parse(sig.bytes.toString()) as { layers: unknown[] }).layers.length
          : 0;
        if (epochs.size > 1 || layers > 1) duplicates += 1;
      }
      // Every tag, verified once per image it points at.
      for (const tag of all) {
        tags += 1;
        const digest = (await client.headManifest(repository, tag))?.digest ?? `${name}:${tag}`;
        if (!verified.has(digest)) {
          try {
            await verifyImage(client, { host, repository, tag }, publicKey);
            verified.set(digest, true);
          } catch (error) {
            verified.set(digest, false);
            note(`${name}:${tag}: ${error instanceof Error ? error.message : String(error)}`);
          }
        }
        if (verified.get(digest) === false) unsigned += 1;
      }
    }
    printTable(
      'kiln chaos: 1 watcher + 3 workers, 20 recipes (local Debian repository, local npm)',
      ['fault', 'struck', 'time to converge'],
      rows,
    );
    printTable(
      'outcome (goal: all planned published, 0 duplicates, 0 unsigned, 0 lost)',
      [
        'images planned',
        'published',
        'published more than once',
        'tags pointing at unsigned images',
        'jobs lost',
        'tags checked',
      ],
      [[totalPlanned, published, duplicates, unsigned, lost.length, tags]],
    );
    if (lost.length > 0) note(`lost: ${lost.map((p) => `${p.recipe} ${p.version}`).join(', ')}`);
  } catch (error) {
    process.stderr.write(`${tail.slice(-60).join('\n')}\n`);
    throw error;
  } finally {
    for (const p of [watcher, ...workers]) p.kill('SIGTERM');
    await Promise.all([watcher, ...workers].map((p) => p.catch(() => undefined)));
    await npm.close();
    await repo.close();
    await registry.stop();
    await stack.stop();
  }
}

await main();
