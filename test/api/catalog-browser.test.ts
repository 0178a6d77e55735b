import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import type { RedisClient } from '../../src/queue/connection.ts';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordCveScan } from '../../src/catalog/cves.ts';
import { clearCatalog, recordPublished, recordUpstreamSeen } from '../../src/catalog/store.ts';
import { loadConfig, type Config } from '../../src/config.ts';
import { freePort } from '../../src/local-services/ports.ts';
import { sampleRecord } from '../catalog/fixtures.ts';
import { testRedis, testRedisUrl, testRegistryHost, uniqueName } from '../helpers/stack.ts';
import { pushSmallImage, registryDigest, registryIndexArchs } from './push-image.ts';

// Overridable so the skip path can be checked: KILN_TEST_CHROMIUM=/nonexistent npx vitest run …
const CHROMIUM = process.env.KILN_TEST_CHROMIUM ?? '/usr/bin/chromium';
const hasChromium = existsSync(CHROMIUM);
const SHOTS = path.resolve('test/.tmp/screenshots');
const XSS =
  '<script>window.__kilnPwned = true</script><img src=x onerror="window.__kilnPwned = true">';

let redis: RedisClient;
let config: Config;
let serve: ChildProcess | undefined;
let serveOutput = '';
let base: string;
let browser: Browser | undefined;
let namespace: string;
const DASHBOARD_TOKEN = 'browser-test-dashboard-token';
const tags = ['1.4.2-r0', '1.4.2', '1.4', '1', 'latest'];
const buildTag = '1.4.2-r0-202612010900';
// webapp's -dev variant: the same recipe's image with a shell, in the same repository.
const devTags = ['1.4.2-r0-dev', '1.4.2-dev', '1.4-dev', '1-dev', 'latest-dev'];
const devBuildTag = '1.4.2-r0-202612010905-dev';

beforeAll(async () => {
  if (!hasChromium) return;
  redis = testRedis();
  namespace = uniqueName('kiln-browser');
  config = loadConfig({
    KILN_QUEUE_PREFIX: namespace,
    KILN_REGISTRY: `${testRegistryHost()}/${namespace}`,
    KILN_STALE_AFTER: '6h',
  });
  const now = Date.now();
  const ago = (h: number) => new Date(now - h * 3_600_000).toISOString();

  // Real registry contents: an image pushed by digest and tagged, then recorded as published.
  const pushed = await pushSmallImage(
    testRegistryHost(),
    `${namespace}/webapp`,
    '1.4.2',
    ['amd64', 'arm64'],
    [...tags, buildTag],
  );
  await recordPublished(
    redis,
    namespace,
    sampleRecord({
      recipe: 'webapp',
      repository: 'webapp',
      version: '1.4.2',
      digest: pushed.digest,
      archs: pushed.archs,
      tags,
      buildTag,
      description: `A small web app. ${XSS}`,
      homepage: 'javascript:alert(1)',
      upstream: { releasedAt: ago(5), url: 'https://example.invalid/webapp/releases/v1.4.2' },
      builtAt: ago(3.5),
      publishedAt: ago(3),
    }),
  );
  const dev = await pushSmallImage(
    testRegistryHost(),
    `${namespace}/webapp`,
    '1.4.2 with a shell',
    ['amd64', 'arm64'],
    [...devTags, devBuildTag],
  );
  await recordPublished(
    redis,
    namespace,
    sampleRecord({
      recipe: 'webapp-dev',
      repository: 'webapp',
      version: '1.4.2',
      digest: dev.digest,
      archs: dev.archs,
      tags: devTags,
      buildTag: devBuildTag,
      variant: { name: 'dev', of: 'webapp' },
      upstream: { releasedAt: ago(5) },
      builtAt: ago(3.9),
      publishedAt: ago(4),
    }),
  );
  const older = await pushSmallImage(
    testRegistryHost(),
    `${namespace}/legacy-tool`,
    '0.9.1',
    ['amd64'],
    ['0.9.1-r2', '0.9.1', 'latest'],
  );
  await recordPublished(
    redis,
    namespace,
    sampleRecord({
      recipe: 'legacy-tool',
      repository: 'legacy-tool',
      version: '0.9.1',
      epoch: 2,
      digest: older.digest,
      archs: older.archs,
      tags: ['0.9.1-r2', '0.9.1', 'latest'],
      signed: false,
      attestations: [],
      upstream: { releasedAt: ago(200) },
      builtAt: ago(150),
      publishedAt: ago(149),
      fixes: [
        {
          package: 'openssl',
          from: '3.5.4-1~deb13u1',
          to: '3.5.4-1~deb13u2',
          cves: ['CVE-2026-1000', 'CVE-2026-1003'],
          changelogFound: true,
        },
      ],
    }),
  );
  await recordUpstreamSeen(redis, namespace, 'legacy-tool', '1.0.0', ago(48));
  // The vuln scan's findings, as the vuln trigger records them: one fixable high, one open low.
  const scanned = (recipe: string, version: string, epoch: number, digest: string) => ({
    recipe,
    stream: 'default',
    version,
    epoch,
    digest,
    release: 'trixie',
    scannedAt: ago(1),
    feed: 'test feed',
  });
  await recordCveScan(
    redis,
    namespace,
    'legacy-tool',
    [
      {
        summary: {
          ...scanned('legacy-tool', '0.9.1', 2, older.digest),
          total: 2,
          fixable: 1,
          byUrgency: { high: 1, low: 1 },
          fixableCves: [
            {
              cve: 'CVE-2026-2001',
              source: 'glibc',
              installed: '2.41-12',
              fixedVersion: '2.41-12+deb13u1',
              suite: 'trixie-security',
              urgency: 'high',
            },
          ],
        },
        publishedAt: ago(149),
      },
    ],
    new Date(),
  );
  await recordCveScan(
    redis,
    namespace,
    'webapp',
    [
      {
        summary: {
          ...scanned('webapp', '1.4.2', 0, pushed.digest),
          total: 0,
          fixable: 0,
          byUrgency: {},
          fixableCves: [],
        },
        publishedAt: ago(3),
      },
    ],
    new Date(),
  );

  // The pages as operators run them: `kiln serve`, a separate process over the same Redis and registry.
  const port = await freePort();
  serve = spawn(process.execPath, ['bin/kiln.js', 'serve'], {
    env: {
      ...process.env,
      KILN_REDIS_URL: testRedisUrl(),
      KILN_REGISTRY: config.registry,
      KILN_QUEUE_PREFIX: namespace,
      KILN_STALE_AFTER: '6h',
      KILN_API_TOKEN: DASHBOARD_TOKEN,
      KILN_API_HOST: '127.0.0.1',
      KILN_API_PORT: String(port),
      KILN_LOG_LEVEL: 'warn',
      NO_COLOR: '1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  serve.stdout?.on('data', (d: Buffer) => (serveOutput += d.toString()));
  serve.stderr?.on('data', (d: Buffer) => (serveOutput += d.toString()));
  base = `http://127.0.0.1:${port}`;
  await waitForHealth(base, serve);
  await mkdir(SHOTS, { recursive: true });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  if (!hasChromium) return;
  await browser?.close();
  serve?.kill('SIGTERM');
  if (serve && serve.exitCode === null) await new Promise((r) => serve?.once('exit', r));
  await clearCatalog(redis, namespace);
  await redis.quit();
});

async function waitForHealth(url: string, child: ChildProcess): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null)
      throw new Error(`kiln serve exited with ${child.exitCode}:\n${serveOutput}`);
    try {
      if ((await fetch(`${url}/healthz`)).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`kiln serve did not answer /healthz within 30 s:\n${serveOutput}`);
}

const skipNote = hasChromium ? '' : ` (skipped: ${CHROMIUM} missing; apt-get install -y chromium)`;
// The default reporter folds a skipped file into a count: say why where it shows.
if (!hasChromium)
  console.warn(`catalog browser tests skipped: ${CHROMIUM} missing; apt-get install -y chromium`);

describe('catalog pages in chromium', () => {
  it.skipIf(!hasChromium)(
    `lists images with tags, freshness and status, without JavaScript${skipNote}`,
    async () => {
      const context = await browser!.newContext({
        javaScriptEnabled: false,
        viewport: { width: 1280, height: 800 },
      });
      const page = await context.newPage();
      const res = await page.goto(`${base}/`);
      expect(res?.status()).toBe(200);
      const row = page.locator('tr', { has: page.locator('a.name', { hasText: 'webapp' }) });
      expect(await row.locator('code.tag').allInnerTexts()).toEqual([...tags].sort());
      expect(await row.locator('code.version').innerText()).toBe('1.4.2-r0');
      expect(await row.locator('td[data-label="Freshness"]').innerText()).toBe('2 h');
      expect(await row.locator('td[data-label="Size"]').innerText()).toContain('arm64');
      const legacy = page.locator('tr', {
        has: page.locator('a.name', { hasText: 'legacy-tool' }),
      });
      expect(await legacy.locator('.badge.bad').innerText()).toBe('stale');
      expect(await legacy.locator('td[data-label="Signed"]').innerText()).toBe('unsigned');
      // CVE counts of each latest release: by urgency, and how many have a fix in its suites.
      expect(await legacy.locator('td[data-label="CVEs"]').innerText()).toBe(
        '2 open (1 high, 1 low) · 1 fixable',
      );
      expect(await row.locator('td[data-label="CVEs"]').innerText()).toBe('0 open · 0 fixable');
      expect(await page.locator('#fixable-total .figure').innerText()).toBe('1');
      // The description is shown as text, markup and all.
      expect(await row.locator('.desc').innerText()).toContain(XSS);
      await page.screenshot({ path: path.join(SHOTS, 'catalog-desktop.png'), fullPage: true });
      await context.close();
    },
  );

  it.skipIf(!hasChromium)(
    `shows an image page whose digests and tags match the registry${skipNote}`,
    async () => {
      const context = await browser!.newContext({ viewport: { width: 1280, height: 900 } });
      const page = await context.newPage();
      await page.goto(`${base}/`);
      await page.click('a.name:text-is("webapp")');
      await page.waitForURL(`${base}/images/webapp`);
      const repo = `${namespace}/webapp`;
      const shown = await page.locator('#latest-digest').innerText();
      expect(shown).toBe(await registryDigest(testRegistryHost(), repo, 'latest'));
      for (const tag of await page.locator('#latest-tags code.tag').allInnerTexts()) {
        expect(await registryDigest(testRegistryHost(), repo, tag)).toBe(shown);
      }
      const archs = await registryIndexArchs(testRegistryHost(), repo, shown);
      const rows = await page.locator('table.archs tbody tr').all();
      expect(rows).toHaveLength(2);
      for (const r of rows) {
        const arch = await r.locator('td[data-label="Arch"]').innerText();
        expect(await r.locator('code.digest').innerText()).toBe(archs[arch]);
      }
      const ref = `${testRegistryHost()}/${repo}@${shown}`;
      expect(await page.locator('#cmd-pull').innerText()).toBe(`docker pull ${ref}`);
      expect(await page.locator('#cmd-kiln-verify').innerText()).toBe(
        `kiln verify ${ref} --key cosign.pub`,
      );
      expect(await page.locator('#cmd-cosign-verify').innerText()).toBe(
        `cosign verify --key cosign.pub --insecure-ignore-tlog=true ${ref}`,
      );
      expect(await page.locator('table.packages tbody tr').count()).toBe(2);
      expect(await page.locator('table.history code.tag').allInnerTexts()).toEqual(
        expect.arrayContaining(tags),
      );

      // Escaping: the script did not run, the text shows, and the javascript: homepage is no link.
      expect(await page.evaluate('window.__kilnPwned')).toBeUndefined();
      expect(await page.locator('p.desc').innerText()).toContain(XSS);
      expect(await page.locator('a[href^="javascript:"]').count()).toBe(0);
      await page.screenshot({ path: path.join(SHOTS, 'image-desktop.png'), fullPage: true });

      // A nano update's page: the fixable CVE with its fix, and what the update fixed.
      await page.goto(`${base}/images/legacy-tool`);
      expect(await page.locator('#latest-cves').innerText()).toContain(
        'CVE-2026-2001 (high): glibc 2.41-12 → 2.41-12+deb13u1 in trixie-security',
      );
      const r2 = page.locator('table.versions tbody tr', {
        has: page.locator('code.version', { hasText: '0.9.1-r2' }),
      });
      expect(await r2.locator('td[data-label="Fixes"]').innerText()).toBe(
        'r2: openssl 3.5.4-1~deb13u1 → 3.5.4-1~deb13u2 fixes CVE-2026-1000, CVE-2026-1003',
      );
      await context.close();
    },
  );

  it.skipIf(!hasChromium)(
    `shows a recipe's -dev variant beside it: one entry, each tag and digest as in the registry${skipNote}`,
    async () => {
      const context = await browser!.newContext({
        javaScriptEnabled: false,
        viewport: { width: 1280, height: 800 },
      });
      const page = await context.newPage();
      await page.goto(`${base}/`);
      const host = testRegistryHost();
      const repo = `${namespace}/webapp`;
      // One entry per image: webapp-dev is no entry of its own, it sits in webapp's.
      expect(await page.locator('tbody.entry').count()).toBe(2);
      expect(await page.locator('#entry-webapp-dev').count()).toBe(0);
      expect(await page.locator('#image-count').innerText()).toMatch(/^2\s+images \+ 1 variant$/);
      const entry = page.locator('tbody#entry-webapp');
      const main = entry.locator('tr.main');
      const variant = entry.locator('tr.variant[data-image="webapp-dev"]');
      expect(await variant.locator('td[data-label="Image"]').innerText()).toBe('-dev variant');
      expect(await variant.locator('code.tag').allInnerTexts()).toEqual([...devTags].sort());
      const devDigest = await variant.locator('code.digest').getAttribute('title');
      expect(devDigest).toBe(await registryDigest(host, repo, 'latest-dev'));
      expect(devDigest).not.toBe(await main.locator('code.digest').getAttribute('title'));
      for (const tag of devTags) expect(await registryDigest(host, repo, tag), tag).toBe(devDigest);
      expect(await variant.locator('td[data-label="Freshness"]').innerText()).toBe('1 h');
      expect(await variant.locator('td[data-label="Size"]').innerText()).toMatch(/amd64.*arm64/s);
      expect(await variant.locator('td[data-label="CVEs"]').innerText()).toBe('not scanned');
      // Side by side: the variant's row right under the image's, its cells in the same columns.
      const [mainBox, devBox] = await Promise.all(
        [main, variant].map((r) => r.locator('td[data-label="Tags"]').boundingBox()),
      );
      expect(devBox?.x).toBe(mainBox?.x);
      expect(devBox!.y).toBeGreaterThanOrEqual(mainBox!.y + mainBox!.height - 1);
      expect(devBox!.y).toBeLessThan(mainBox!.y + mainBox!.height + 40);
      await page.screenshot({ path: path.join(SHOTS, 'catalog-variants.png'), fullPage: true });

      // The image page: the variant's tags, build tag and pull references beside the image's.
      await page.click('tbody#entry-webapp a.variant-name');
      await page.waitForURL(`${base}/images/webapp-dev`);
      expect(await page.locator('p.variant-of').innerText()).toBe('The -dev variant of webapp');
      await page.goto(`${base}/images/webapp`);
      const rows = page.locator('table.variants tbody tr');
      expect(
        await rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-image'))),
      ).toEqual(['webapp', 'webapp-dev']);
      const devRow = page.locator('table.variants tr[data-image="webapp-dev"]');
      expect(await devRow.locator('code.pull-tag').innerText()).toBe(
        `docker pull ${host}/${repo}:latest-dev`,
      );
      expect(await devRow.locator('code.pull-digest').innerText()).toBe(
        `docker pull ${host}/${repo}@${devDigest}`,
      );
      expect(await devRow.locator('code.build-tag').innerText()).toBe(devBuildTag);
      expect(await registryDigest(host, repo, devBuildTag)).toBe(devDigest);
      expect(await devRow.locator('code.tag').allInnerTexts()).toEqual([...devTags].sort());
      const mainRow = page.locator('table.variants tr[data-image="webapp"]');
      expect(await mainRow.locator('code.pull-tag').innerText()).toBe(
        `docker pull ${host}/${repo}:latest`,
      );
      // The image's own build tag names the image the page shows, in the registry too.
      const shown = await page.locator('#latest-digest').innerText();
      expect(await page.locator('#latest-build-tag').innerText()).toBe(buildTag);
      expect(await registryDigest(host, repo, buildTag)).toBe(shown);
      expect(await page.locator('#cmd-pull-build').innerText()).toBe(
        `docker pull ${host}/${repo}:${buildTag}`,
      );
      await page.screenshot({ path: path.join(SHOTS, 'image-variants.png'), fullPage: true });
      await context.close();
    },
  );

  it.skipIf(!hasChromium)(`stays readable on a phone-sized screen${skipNote}`, async () => {
    const context = await browser!.newContext({
      viewport: { width: 390, height: 844 },
      deviceScaleFactor: 2,
      isMobile: true,
      hasTouch: true,
    });
    const page = await context.newPage();
    for (const [url, name] of [
      [`${base}/`, 'catalog-phone.png'],
      [`${base}/images/webapp`, 'image-phone.png'],
    ] as const) {
      await page.goto(url);
      // Nothing wider than the screen: no sideways scrolling.
      const overflow = Number(
        await page.evaluate(
          'document.documentElement.scrollWidth - document.documentElement.clientWidth',
        ),
      );
      expect(overflow).toBeLessThanOrEqual(0);
      await page.screenshot({ path: path.join(SHOTS, name), fullPage: true });
    }
    await context.close();
  });

  it.skipIf(!hasChromium)(
    `opens the queue dashboard with ?token= and keeps the token out of the address${skipNote}`,
    async () => {
      const context = await browser!.newContext({ viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      expect((await page.goto(`${base}/queues`))?.status()).toBe(401);
      await page.goto(`${base}/queues?token=${DASHBOARD_TOKEN}`);
      expect(page.url()).toBe(`${base}/queues`);
      // bull-board's UI fetches its data with the session cookie: both queues show up.
      await page.getByText('publish', { exact: true }).first().waitFor({ timeout: 20_000 });
      await page.getByText('build', { exact: true }).first().waitFor({ timeout: 20_000 });
      await page.screenshot({ path: path.join(SHOTS, 'queues-dashboard.png') });
      await context.close();
    },
  );
});
