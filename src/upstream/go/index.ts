import semver from 'semver';
import { PermanentError } from '../../errors.ts';
import { httpGet, joinUrl, parseJson } from '../http.ts';
import { toFetchResult, type RawRelease } from '../release.ts';
import type { SourceContext, UpstreamSource } from '../types.ts';
import { versionInfo } from './schema.ts';

const modulePattern = /^[a-zA-Z0-9._~-]+(\/[a-zA-Z0-9._~-]+)*$/;
/** `.info` files fetched per check for versions not seen before; older ones keep no time. */
const maxInfoPerCheck = 20;

/**
 * The module proxy: KILN_GOPROXY, else the first URL in Go's own GOPROXY list. No default:
 * `direct` and `off` mean there is no proxy to ask.
 */
export function goProxy(ctx: SourceContext, env: NodeJS.ProcessEnv = process.env): string {
  if (ctx.config.goproxy) return ctx.config.goproxy;
  const first = (env.GOPROXY ?? '').split(/[,|]/).find((p) => /^https?:\/\//.test(p));
  if (!first)
    throw new PermanentError(
      'go source: no module proxy configured; set KILN_GOPROXY (or GOPROXY)',
    );
  return first;
}

/** The proxy protocol's case encoding: each capital letter becomes `!` and its lowercase. */
export function escapeModulePath(path: string): string {
  return path.replace(/[A-Z]/g, (c) => `!${c.toLowerCase()}`);
}

/** Go module versions from the proxy's `@v/list`, with times from each version's `.info`. */
export const goSource: UpstreamSource = {
  id: 'go',
  refOf: (upstream) => upstream.go,
  open(ctx) {
    return {
      hostOf: () => new URL(goProxy(ctx)).host,
      async fetch(item) {
        if (!modulePattern.test(item.ref) || item.ref.includes('..')) {
          throw new PermanentError(
            `recipe ${item.recipe}: ${JSON.stringify(item.ref)} is not a Go module path`,
          );
        }
        const base = joinUrl(goProxy(ctx), escapeModulePath(item.ref), '@v');
        const what = `Go module ${item.ref}`;
        const key = `go:${base}`;
        const cached = await ctx.cache.get(key);
        let list = await httpGet(ctx, `${base}/list`, { what, validators: cached });
        if (list.status === 304) {
          if (cached) return { releases: cached.releases, unchanged: true, rejected: [] };
          list = await httpGet(ctx, `${base}/list`, { what });
        }
        if (!('body' in list)) throw new PermanentError(`${what}: 304 to an unconditional request`);
        const versions = list.body
          .toString('utf8')
          .split('\n')
          .map((v) => v.trim())
          .filter(Boolean);
        const sorted = [...versions].sort((a, b) => {
          const va = semver.valid(a);
          const vb = semver.valid(b);
          if (va && vb) return semver.rcompare(va, vb);
          return va ? -1 : vb ? 1 : b.localeCompare(a);
        });
        const known = new Map((cached?.releases ?? []).map((r) => [r.tag, r.publishedAt]));
        const raws: RawRelease[] = [];
        let fetched = 0;
        for (const tag of sorted) {
          let publishedAt = known.get(tag);
          if (
            publishedAt === undefined &&
            fetched < maxInfoPerCheck &&
            /^v[0-9A-Za-z.+-]+$/.test(tag)
          ) {
            fetched++;
            const info = await httpGet(ctx, `${base}/${tag}.info`, { what: `${what} ${tag}` });
            if ('body' in info)
              publishedAt = parseJson(info.body, versionInfo, `${what} ${tag}.info`).Time;
          }
          raws.push({
            tag,
            publishedAt,
            prerelease: semver.prerelease(semver.valid(tag) ?? '0.0.0') !== null,
          });
        }
        const result = toFetchResult(what, raws);
        await ctx.cache.set(key, {
          etag: list.etag,
          lastModified: list.lastModified,
          releases: result.releases,
        });
        return result;
      },
    };
  },
};
