import { spawn, type ChildProcess } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { redisOptions } from '../../src/queue/connection.ts';
import { QueueName } from '../../src/queue/names.ts';
import { freePort } from '../../src/local-services/ports.ts';
import { testRedisUrl, testRegistryHost, uniqueName } from '../helpers/stack.ts';
import { startLocalGithub, type LocalGithub } from '../servers/github/server.ts';

/*
 * The GitHub webhook as operators run it: `kiln watch` (the watcher and the API in one process,
 * the command that serves `POST /hooks/github`) over the test's Redis and registry, watching the
 * local GitHub server, with recipes on disk. Requests are real HTTP to its port.
 */

const SECRET = 'webhook-secret-0123456789abcdef';
const GITHUB_TOKEN = 'ghp_webhookprocesstoken0123456789';
const API_TOKEN = 'api-token-webhook-0123456789';

interface KilnProcess {
  base: string;
  prefix: string;
  output: () => string;
  stop: () => Promise<void>;
}

let gh: LocalGithub;
let ghUnsigned: LocalGithub;
let recipesDir: string;
let signed: KilnProcess;
let unsigned: KilnProcess;

const recipe = (name: string, repository: string) => `name: ${name}
description: webhook test recipe ${name}
license: MIT
upstream:
  github: ${repository}
  strip-prefix: v
versions:
  scheme: semver
build:
  builder: dockerfile
  archs: [amd64]
  dockerfile: {}
`;

async function startKilnWatch(
  github: LocalGithub,
  env: Record<string, string>,
): Promise<KilnProcess> {
  const port = await freePort();
  const prefix = uniqueName('hooks');
  let output = '';
  const child: ChildProcess = spawn(process.execPath, ['bin/kiln.js', 'watch'], {
    env: {
      ...process.env,
      KILN_REDIS_URL: testRedisUrl(),
      KILN_REGISTRY: `${testRegistryHost()}/${prefix}`,
      KILN_QUEUE_PREFIX: prefix,
      KILN_ALLOW_UNSIGNED: 'true',
      KILN_RECIPES_DIR: recipesDir,
      KILN_GITHUB_API_URL: github.apiUrl,
      GITHUB_TOKEN,
      KILN_API_TOKEN: API_TOKEN,
      // One hour: the watcher's own first poll waits 30 s for a fuller GitHub batch.
      KILN_POLL_INTERVAL: '1h',
      KILN_API_HOST: '127.0.0.1',
      KILN_API_PORT: String(port),
      KILN_LOG_LEVEL: 'info',
      NO_COLOR: '1',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (child.exitCode !== null)
      throw new Error(`kiln watch exited with ${child.exitCode}:\n${output}`);
    if (i === 600) throw new Error(`kiln watch did not answer /healthz:\n${output}`);
    const up = await fetch(`${base}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    base,
    prefix,
    output: () => output,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

beforeAll(async () => {
  // One local GitHub per process, so each one's request counts are its own.
  [gh, ghUnsigned] = await Promise.all([
    startLocalGithub({ tokens: [GITHUB_TOKEN] }),
    startLocalGithub({ tokens: [GITHUB_TOKEN] }),
  ]);
  for (const github of [gh, ghUnsigned]) {
    github.state.addRepo('acme/tool');
    github.state.addRepo('acme/other');
  }
  recipesDir = await mkdtemp(path.join(os.tmpdir(), 'kiln-hooks-'));
  for (const [name, repository] of [
    ['tool', 'acme/tool'],
    ['other', 'acme/other'],
  ] as const) {
    await writeFile(path.join(recipesDir, `${name}.yaml`), recipe(name, repository));
  }
  await writeFile(path.join(recipesDir, 'Dockerfile'), 'FROM scratch\n');
  [signed, unsigned] = await Promise.all([
    startKilnWatch(gh, { KILN_GITHUB_WEBHOOK_SECRET: SECRET }),
    startKilnWatch(ghUnsigned, {}),
  ]);
}, 120_000);

afterAll(async () => {
  await Promise.all([signed?.stop(), unsigned?.stop()]);
  await Promise.all([gh?.close(), ghUnsigned?.close()]);
  await rm(recipesDir, { recursive: true, force: true });
});

const hmac = (key: string, body: string) =>
  `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;

function post(base: string, body: string, headers: Record<string, string>) {
  return fetch(`${base}/hooks/github`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

const releaseEvent = JSON.stringify({
  action: 'published',
  release: { tag_name: 'v2.0.0' },
  repository: { full_name: 'acme/tool', id: 1 },
});

describe('POST /hooks/github on a running kiln watch', () => {
  it('answers 401 when no webhook secret is configured, whatever the signature, and logs no secret', async () => {
    // Signed with an empty key (what a missing secret would verify against), and with a guess.
    const guesses = [hmac('', releaseEvent), hmac(SECRET, releaseEvent)];
    for (const signature of guesses) {
      const res = await post(unsigned.base, releaseEvent, {
        'x-github-event': 'release',
        'x-github-delivery': 'delivery-unsigned',
        'x-hub-signature-256': signature,
      });
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({ error: 'webhooks are disabled: no secret configured' });
    }
    await vi.waitFor(() =>
      expect(
        unsigned.output().match(/GitHub webhook refused: KILN_GITHUB_WEBHOOK_SECRET is not set/g),
      ).toHaveLength(2),
    );
    const output = unsigned.output();
    expect(output).toContain('delivery-unsigned');
    for (const secret of [GITHUB_TOKEN, API_TOKEN, ...guesses, ...guesses.map((g) => g.slice(7))])
      expect(output).not.toContain(secret);
  });

  it('checks the recipe tracking the repository when a signed release event arrives', async () => {
    // A wrong signature is refused and checks nothing.
    const forged = await post(signed.base, releaseEvent, {
      'x-github-event': 'release',
      'x-hub-signature-256': hmac('not-the-secret', releaseEvent),
    });
    expect(forged.status).toBe(401);

    gh.state.publish('acme/tool', 'v2.0.0');
    const before = gh.state.stats.batchSizes.length;
    const res = await post(signed.base, releaseEvent, {
      'x-github-event': 'release',
      'x-github-delivery': 'delivery-signed',
      'x-hub-signature-256': hmac(SECRET, releaseEvent),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ checking: ['tool'] });

    // The watcher asks GitHub about acme/tool alone: one repository in the query. Its own poll
    // would ask for both recipes' repositories in one batch.
    await vi.waitFor(() => expect(gh.state.stats.batchSizes.length).toBeGreaterThan(before), {
      timeout: 20_000,
    });
    expect(gh.state.stats.batchSizes[before]).toBe(1);
    // What it learnt went on to the planner: the new release is queued for building.
    const publish = new Queue(QueueName.publish, {
      connection: redisOptions(testRedisUrl()),
      prefix: signed.prefix,
    });
    try {
      await vi.waitFor(
        async () => {
          const jobs = await publish.getJobs(['waiting', 'waiting-children', 'prioritized']);
          expect(jobs.map((j) => j.name)).toContain('publish tool 2.0.0-r0');
        },
        { timeout: 20_000 },
      );
      const jobs = await publish.getJobs(['waiting', 'waiting-children', 'prioritized']);
      expect(jobs.map((j) => j.name).filter((n) => n.includes('other'))).toEqual([]);
    } finally {
      const build = new Queue(QueueName.build, {
        connection: redisOptions(testRedisUrl()),
        prefix: signed.prefix,
      });
      for (const q of [publish, build]) {
        await q.obliterate({ force: true });
        await q.close();
      }
    }
    expect(signed.output()).toMatch(/GitHub webhook: checking now/);
    expect(signed.output()).not.toContain(SECRET);
  });
});
