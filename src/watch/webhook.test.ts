import { createHmac } from 'node:crypto';
import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { uniqueName } from '../../test/helpers/stack.ts';
import { startLocalGithub, type LocalGithub } from '../../test/servers/github/server.ts';
import { watchedRecipe } from '../../test/servers/recipes.ts';
import { loadConfig } from '../config.ts';
import { createLogger } from '../log.ts';
import { verifyGithubSignature } from './signature.ts';
import { createWatcher } from './watcher.ts';
import { webhookRoutes } from './webhook.ts';

const secret = 'webhook-secret-for-tests';
const apiToken = 'api-token-for-tests';
const ghToken = 'ghp_webhooktesttoken';
let gh: LocalGithub | undefined;
afterEach(async () => {
  await gh?.close();
});

async function setup() {
  gh = await startLocalGithub({ tokens: [ghToken] });
  gh.state.addRepo('acme/tool');
  gh.state.addRepo('acme/other');
  const lines: string[] = [];
  const log = createLogger({ level: 'info' }, { write: (line: string) => void lines.push(line) });
  const config = loadConfig({
    GITHUB_TOKEN: ghToken,
    KILN_GITHUB_API_URL: gh.apiUrl,
    KILN_GITHUB_WEBHOOK_SECRET: secret,
    KILN_API_TOKEN: apiToken,
    KILN_QUEUE_PREFIX: uniqueName('hooks'),
  });
  const checked: string[] = [];
  const watcher = createWatcher({
    config,
    recipes: () => [
      watchedRecipe('tool', { github: 'acme/tool' }),
      watchedRecipe('tool-tags', { github: 'acme/tool', use: 'tags' }),
      watchedRecipe('other', { github: 'acme/other' }),
    ],
    onReleases: (loaded) => void checked.push(loaded.recipe.name),
    log,
  });
  const app = Fastify();
  await app.register(webhookRoutes(watcher, config, log));
  return { app, checked, lines, watcher };
}

const sign = (body: string, key = secret) =>
  `sha256=${createHmac('sha256', key).update(body).digest('hex')}`;
const releaseEvent = JSON.stringify({
  action: 'published',
  release: { tag_name: 'v2.0.0' },
  repository: { full_name: 'acme/tool', id: 1 },
});

describe('GitHub webhook', () => {
  it('refuses a bad or missing signature with 401, and logs it', async () => {
    const { app, checked, lines } = await setup();
    for (const headers of [
      { 'x-hub-signature-256': sign(releaseEvent, 'wrong') },
      {},
      { 'x-hub-signature-256': 'sha256=zz' },
    ]) {
      const res = await app.inject({
        method: 'POST',
        url: '/hooks/github',
        payload: releaseEvent,
        headers: { 'content-type': 'application/json', 'x-github-event': 'release', ...headers },
      });
      expect(res.statusCode).toBe(401);
    }
    expect(lines.filter((l) => l.includes('bad or missing signature'))).toHaveLength(3);
    expect(lines.join('\n')).not.toContain(secret);
    expect(checked).toEqual([]);
    expect(gh?.state.stats.graphqlRequests).toBe(0);
  });

  it('checks the recipes tracking the repository when a signed release event arrives', async () => {
    const { app, checked, watcher } = await setup();
    const res = await app.inject({
      method: 'POST',
      url: '/hooks/github',
      payload: releaseEvent,
      headers: {
        'content-type': 'application/json',
        'x-github-event': 'release',
        'x-hub-signature-256': sign(releaseEvent),
        'x-github-delivery': 'abc',
      },
    });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toEqual({ checking: ['tool', 'tool-tags'] });
    await vi.waitFor(() => expect(checked.sort()).toEqual(['tool', 'tool-tags']), {
      timeout: 5000,
    });
    expect(watcher.status().find((s) => s.recipe === 'other')?.lastCheckedAt).toBeUndefined();
  });

  it('checks on a tag create event and ignores branch creation and other events', async () => {
    const { app, checked } = await setup();
    const send = (event: string, body: object) => {
      const text = JSON.stringify(body);
      return app.inject({
        method: 'POST',
        url: '/hooks/github',
        payload: text,
        headers: {
          'content-type': 'application/json',
          'x-github-event': event,
          'x-hub-signature-256': sign(text),
        },
      });
    };
    expect(
      (
        await send('create', {
          ref: 'feature',
          ref_type: 'branch',
          repository: { full_name: 'acme/other' },
        })
      ).json(),
    ).toEqual({ ignored: 'create branch' });
    expect((await send('push', { repository: { full_name: 'acme/other' } })).statusCode).toBe(202);
    expect(
      (await send('ping', { zen: 'hi', repository: { full_name: 'acme/other' } })).statusCode,
    ).toBe(200);
    expect(
      (
        await send('create', {
          ref: 'v1.0.0',
          ref_type: 'tag',
          repository: { full_name: 'acme/other' },
        })
      ).json(),
    ).toEqual({ checking: ['other'] });
    await vi.waitFor(() => expect(checked).toEqual(['other']), { timeout: 5000 });
  });
});

describe('check hook', () => {
  it('needs the bearer token and a known recipe, then checks it', async () => {
    const { app, checked } = await setup();
    expect((await app.inject({ method: 'POST', url: '/hooks/check/other' })).statusCode).toBe(401);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/hooks/check/other',
          headers: { authorization: 'Bearer nope' },
        })
      ).statusCode,
    ).toBe(401);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/hooks/check/missing',
          headers: { authorization: `Bearer ${apiToken}` },
        })
      ).statusCode,
    ).toBe(404);
    const res = await app.inject({
      method: 'POST',
      url: '/hooks/check/other',
      headers: { authorization: `Bearer ${apiToken}` },
    });
    expect(res.statusCode).toBe(202);
    await vi.waitFor(() => expect(checked).toEqual(['other']), { timeout: 5000 });
  });
});

describe('verifyGithubSignature', () => {
  it("matches GitHub's documented example", () => {
    // From GitHub's "Validating webhook deliveries" page.
    const body = Buffer.from('Hello, World!');
    expect(
      verifyGithubSignature(
        "It's a Secret to Everybody",
        body,
        'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17',
      ),
    ).toBe(true);
    expect(
      verifyGithubSignature(
        "It's a Secret to Everybody",
        body,
        'sha1=757107ea0eb2509fc211221cce984b8a37570b6d',
      ),
    ).toBe(false);
  });
});
