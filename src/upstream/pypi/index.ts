import { PermanentError } from '../../errors.ts';
import { fetchConditionalJson } from '../conditional.ts';
import { joinUrl } from '../http.ts';
import type { SourceContext, UpstreamSource } from '../types.ts';
import { pypiProject } from './schema.ts';

const namePattern = /^[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?$/;

/**
 * The PyPI JSON API base: KILN_PYPI_URL, else derived from pip's own PIP_INDEX_URL (`…/simple`).
 * There is no built-in default: the index is whatever this installation is configured for.
 */
export function pypiBase(ctx: SourceContext, env: NodeJS.ProcessEnv = process.env): string {
  if (ctx.config.pypiUrl) return ctx.config.pypiUrl;
  const pip = env.PIP_INDEX_URL;
  if (pip && /\/simple\/?$/.test(pip)) return pip.replace(/\/simple\/?$/, '');
  throw new PermanentError(
    'pypi source: no index configured; set KILN_PYPI_URL (the base whose /pypi/<name>/json is the JSON API)',
  );
}

/** PEP 440 pre-releases and development releases. */
function isPre(version: string): boolean {
  return /\d(a|b|c|rc|alpha|beta|pre|preview|dev)\.?\d*/i.test(version);
}

/** PyPI project versions from the JSON API; a version whose every file is yanked is skipped. */
export const pypiSource: UpstreamSource = {
  id: 'pypi',
  refOf: (upstream) => upstream.pypi,
  open(ctx) {
    return {
      hostOf: () => new URL(pypiBase(ctx)).host,
      async fetch(item) {
        if (!namePattern.test(item.ref))
          throw new PermanentError(
            `recipe ${item.recipe}: ${JSON.stringify(item.ref)} is not a PyPI project name`,
          );
        const base = pypiBase(ctx);
        const url = joinUrl(base, 'pypi', item.ref, 'json');
        return fetchConditionalJson(ctx, {
          key: `pypi:${url}`,
          url,
          what: `PyPI project ${item.ref}`,
          headers: { accept: 'application/json' },
          schema: pypiProject,
          toReleases: (doc) =>
            Object.entries(doc.releases)
              .filter(([, files]) => files.length > 0 && files.some((f) => !f.yanked))
              .map(([version, files]) => ({
                tag: version,
                version,
                publishedAt: files
                  .map((f) => f.upload_time_iso_8601 ?? '')
                  .filter(Boolean)
                  .sort()[0],
                prerelease: isPre(version),
                url: joinUrl(base, 'project', doc.info.name, version) + '/',
                checksums: Object.fromEntries(
                  files.flatMap((f) =>
                    f.digests?.sha256 ? [[f.filename, `sha256:${f.digests.sha256}`]] : [],
                  ),
                ),
              }))
              .sort((a, b) => (b.publishedAt ?? '').localeCompare(a.publishedAt ?? '')),
        });
      },
    };
  },
};
