import { PermanentError } from '../../errors.ts';
import { checkShape, httpGet, joinUrl } from '../http.ts';
import { toFetchResult, type RawRelease } from '../release.ts';
import type { SourceContext, UpstreamSource } from '../types.ts';
import { indexLine } from './schema.ts';

const namePattern = /^[A-Za-z][A-Za-z0-9_-]{0,63}$/;

/**
 * The sparse index: KILN_CRATES_URL, else cargo's own CARGO_REGISTRIES_CRATES_IO_INDEX (with its
 * `sparse+` prefix). No built-in default.
 */
export function cratesIndex(ctx: SourceContext, env: NodeJS.ProcessEnv = process.env): string {
  const url = ctx.config.cratesUrl ?? env.CARGO_REGISTRIES_CRATES_IO_INDEX;
  if (!url)
    throw new PermanentError('crates source: no sparse index configured; set KILN_CRATES_URL');
  return url.replace(/^sparse\+/, '');
}

/** Cargo's index layout: `1/a`, `2/ab`, `3/a/abc`, `ab/cd/abcd…`, lowercased. */
export function indexPath(name: string): string {
  const n = name.toLowerCase();
  if (n.length <= 2) return `${n.length}/${n}`;
  if (n.length === 3) return `3/${n[0]}/${n}`;
  return `${n.slice(0, 2)}/${n.slice(2, 4)}/${n}`;
}

/** Crate versions from the sparse index (one JSON object per line), yanked ones left out. */
export const cratesSource: UpstreamSource = {
  id: 'crates',
  refOf: (upstream) => upstream.crates,
  open(ctx) {
    return {
      hostOf: () => new URL(cratesIndex(ctx)).host,
      async fetch(item) {
        if (!namePattern.test(item.ref))
          throw new PermanentError(
            `recipe ${item.recipe}: ${JSON.stringify(item.ref)} is not a crate name`,
          );
        const url = joinUrl(cratesIndex(ctx), indexPath(item.ref));
        const what = `crate ${item.ref}`;
        const key = `crates:${url}`;
        const cached = await ctx.cache.get(key);
        let response = await httpGet(ctx, url, { what, validators: cached });
        if (response.status === 304) {
          if (cached) return { releases: cached.releases, unchanged: true, rejected: [] };
          response = await httpGet(ctx, url, { what });
        }
        if (!('body' in response))
          throw new PermanentError(`${what}: 304 to an unconditional request`);
        const raws: RawRelease[] = [];
        for (const [n, line] of response.body.toString('utf8').split('\n').entries()) {
          if (line.trim() === '') continue;
          let data: unknown;
          try {
            data = JSON.parse(line);
          } catch (cause) {
            throw new PermanentError(`${what}: malformed JSON on line ${n + 1} of the index file`, {
              cause,
            });
          }
          const entry = checkShape(data, indexLine, `${what}, index line ${n + 1}`);
          if (entry.yanked) continue;
          raws.push({
            tag: entry.vers,
            version: entry.vers,
            publishedAt: entry.pubtime,
            prerelease: entry.vers.includes('-'),
            checksums: entry.cksum ? { sha256: entry.cksum } : {},
          });
        }
        // The index lists oldest first; kiln's lists are newest first.
        const result = toFetchResult(what, raws.reverse());
        await ctx.cache.set(key, {
          etag: response.etag,
          lastModified: response.lastModified,
          releases: result.releases,
        });
        return result;
      },
    };
  },
};
