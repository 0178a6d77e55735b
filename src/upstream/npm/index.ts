import { PermanentError } from '../../errors.ts';
import { hostNpmRegistry } from '../../host-config/npm.ts';
import { fetchConditionalJson } from '../conditional.ts';
import { joinUrl } from '../http.ts';
import type { SourceContext, UpstreamSource } from '../types.ts';
import { packument } from './schema.ts';

const namePattern = /^(@[a-z0-9-~][a-z0-9-._~]*\/)?[a-z0-9-~][a-z0-9-._~]*$/;

/** The registry: KILN_NPM_REGISTRY, else the host's npm configuration. Never a literal. */
async function registryOf(ctx: SourceContext): Promise<string> {
  const registry = ctx.config.npmRegistry ?? (await hostNpmRegistry());
  if (!registry)
    throw new PermanentError(
      'npm source: no registry configured; set KILN_NPM_REGISTRY or `npm config set registry`',
    );
  return registry;
}

/** npm package versions from the registry's packument, with publish times and integrity. */
export const npmSource: UpstreamSource = {
  id: 'npm',
  refOf: (upstream) => upstream.npm,
  open(ctx) {
    let registry: Promise<string> | undefined;
    const base = () => (registry ??= registryOf(ctx));
    return {
      hostOf: async () => new URL(await base()).host,
      async fetch(item) {
        if (!namePattern.test(item.ref))
          throw new PermanentError(
            `recipe ${item.recipe}: ${JSON.stringify(item.ref)} is not an npm package name`,
          );
        const url = joinUrl(await base(), item.ref.replace('/', '%2f'));
        return fetchConditionalJson(ctx, {
          key: `npm:${url}`,
          url,
          what: `npm package ${item.ref}`,
          headers: { accept: 'application/json' },
          schema: packument,
          toReleases: (doc) =>
            Object.values(doc.versions)
              .map((v) => ({
                tag: v.version,
                version: v.version,
                publishedAt: doc.time?.[v.version],
                prerelease: v.version.includes('-'),
                url: v.dist?.tarball,
                checksums: {
                  ...(v.dist?.integrity ? { integrity: v.dist.integrity } : {}),
                  ...(v.dist?.shasum ? { sha1: v.dist.shasum } : {}),
                },
              }))
              .sort((a, b) => (b.publishedAt ?? '').localeCompare(a.publishedAt ?? '')),
        });
      },
    };
  },
};
