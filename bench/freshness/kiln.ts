import { createHmac } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { freePort } from '../../src/local-services/ports.ts';
import type { DebianTestRepo } from '../../test/helpers/debian-repo.ts';
import { envtoolRecipe } from '../../test/helpers/envtool.ts';
import type { startLocalGithub } from '../../test/servers/github/server.ts';
import type { startLocalNpm } from '../../test/servers/npm.ts';
import { pythonRecipe } from './python.ts';

/*
 * The parts of the freshness bench that talk to kiln and the local upstreams: recipes written
 * for `kiln up`, `kiln up` itself as a process, releases published on the local npm registry and
 * GitHub server, and the webhooks that announce them.
 */

export const token = 'bench-gh-token';
const secret = 'bench-webhook-secret';
const apiToken = 'bench-api-token';

export interface Recipe {
  name: string;
  source: 'npm' | 'github';
  /** npm package or owner/repo. */
  upstream: string;
  /** The registry namespace of the `kiln up` that builds it. */
  namespace: string;
  /** A python-sized image (the python recipe's closure) rather than envtool alone. */
  python: boolean;
  minor: number;
}

export interface Release {
  recipe: Recipe;
  version: string;
  path: string;
  publishedAt: number;
  taggedAt?: number;
}

export interface Upstreams {
  npm: Awaited<ReturnType<typeof startLocalNpm>>;
  github: Awaited<ReturnType<typeof startLocalGithub>>;
}

/** `count` recipes named `<base><i>`, half npm and half GitHub; the first `python` are python-sized. */
export async function makeRecipes(
  up: Upstreams,
  base: string,
  counts: { all: number; python: number },
  recipesDir: string,
): Promise<Recipe[]> {
  await mkdir(recipesDir, { recursive: true });
  const namespace = `${base}-${Date.now().toString(36)}`;
  const recipes: Recipe[] = [];
  for (let i = 0; i < counts.all; i++) {
    const python = i < counts.python;
    const source = i % 2 === 0 ? 'npm' : 'github';
    const name = `${base}${python ? 'py' : ''}${i}`;
    const upstream = source === 'npm' ? `${name}-pkg` : `bench/${name}`;
    const r: Recipe = { name, source, upstream, namespace, python, minor: 0 };
    if (source === 'npm')
      up.npm.packages.set(upstream, {
        name: upstream,
        versions: [{ version: '1.0.0', time: '2024-01-01T00:00:00.000Z' }],
      });
    else up.github.state.addRepo(upstream, { releases: 1 });
    const tag = source === 'npm' ? { npm: upstream } : { github: upstream };
    const description = 'freshness benchmark image (envtool from the local Debian repository)';
    const yaml = python
      ? await pythonRecipe(name, tag)
      : envtoolRecipe({ name, description, upstream: tag });
    await writeFile(path.join(recipesDir, `${name}.yaml`), yaml);
    recipes.push(r);
  }
  return recipes;
}

/** What every phase shares: the upstreams, the releases so far, the `kiln up` processes. */
export interface Bench {
  up: Upstreams;
  releases: Release[];
  processes: Kiln[];
  /** kiln up's CPU (its process tree) per phase, ms. */
  cpu: Map<string, number>;
  notes: string[];
  started: number;
  deadline: number;
}

export interface Kiln {
  kiln: ResultPromise;
  apiPort: number;
  out: { text: string };
}

/** `kiln up` as a user runs it, over its own recipes, state, cache, queue prefix and namespace. */
export async function launch(
  parts: { up: Upstreams; repo: DebianTestRepo; registry: string; redisUrl: string },
  dir: string,
  namespace: string,
  interval: string,
): Promise<Kiln> {
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(
      ([k]) => !k.startsWith('KILN_') && k !== 'SOURCE_DATE_EPOCH' && k !== 'GITHUB_TOKEN',
    ),
  );
  const apiPort = await freePort();
  const kiln: ResultPromise = execa('node', ['bin/kiln.js', 'up'], {
    env: {
      ...inherited,
      KILN_RECIPES_DIR: path.join(dir, 'recipes'),
      KILN_STATE_DIR: path.join(dir, 'state'),
      KILN_CACHE_DIR: path.join(dir, 'cache'),
      KILN_REGISTRY: `${parts.registry}/${namespace}`,
      KILN_REDIS_URL: parts.redisUrl,
      KILN_QUEUE_PREFIX: namespace,
      KILN_DEBIAN_MIRROR: parts.repo.url,
      KILN_DEBIAN_SECURITY_MIRROR: parts.repo.url,
      KILN_DEBIAN_KEYRING: parts.repo.keyring,
      KILN_NPM_REGISTRY: parts.up.npm.url,
      KILN_GITHUB_API_URL: parts.up.github.apiUrl,
      GITHUB_TOKEN: token,
      KILN_GITHUB_WEBHOOK_SECRET: secret,
      KILN_API_TOKEN: apiToken,
      KILN_API_HOST: '127.0.0.1',
      KILN_API_PORT: String(apiPort),
      KILN_POLL_INTERVAL: interval,
      KILN_LOG_LEVEL: 'warn',
    },
    extendEnv: false,
    reject: false,
    all: true,
  });
  const out = { text: '' };
  kiln.all?.on('data', (c: Buffer) => {
    out.text = (out.text + c.toString('utf8')).slice(-20_000);
  });
  return { kiln, apiPort, out };
}

/** A new minor release of `r`'s upstream, published now. */
export function publishRelease(up: Upstreams, r: Recipe, pathName: string): Release {
  r.minor += 1;
  const version = `1.${r.minor}.0`;
  const now = new Date();
  if (r.source === 'npm')
    up.npm.packages.get(r.upstream)?.versions.push({ version, time: now.toISOString() });
  else up.github.state.publish(r.upstream, `v${version}`, { at: now });
  return { recipe: r, version, path: pathName, publishedAt: now.getTime() };
}

/** Announces `r`'s latest release: a signed GitHub release event, or a check of the npm recipe. */
export async function hook(api: string, r: Recipe): Promise<void> {
  let res: Response;
  if (r.source === 'npm') {
    res = await fetch(`${api}/hooks/check/${r.name}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiToken}` },
    });
  } else {
    const body = JSON.stringify({
      action: 'published',
      release: { tag_name: `v1.${r.minor}.0` },
      repository: { full_name: r.upstream },
    });
    const signature = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    res = await fetch(`${api}/hooks/github`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'release',
        'x-github-delivery': `bench-${Date.now()}-${r.name}`,
        'x-hub-signature-256': signature,
      },
      body,
    });
  }
  if (res.status !== 202)
    throw new Error(`webhook for ${r.name}: HTTP ${res.status} ${await res.text()}`);
}
