import { z } from 'zod';
import { PermanentError, TransientError } from '../../errors.ts';
import { httpStatusError } from '../../http-errors.ts';
import { hostNpmRegistry } from '../../host-config/npm.ts';

/** What the registry says about one version of a package: where its tarball is and its integrity. */
export interface NpmTarball {
  url: string;
  /** Subresource-integrity string, e.g. `sha512-…` (base64). */
  integrity: string;
}

const versionDocument = z.object({
  dist: z.object({
    tarball: z.url(),
    integrity: z.string().regex(/^sha(256|384|512)-[A-Za-z0-9+/=]+$/),
  }),
});

/**
 * Resolves `npm:<package>` at a version through the configured registry (`registry`, kiln's
 * KILN_NPM_REGISTRY, else the host's npm configuration): the tarball's URL and the integrity the
 * registry publishes, which the download must match. kiln names no registry itself.
 */
export async function npmTarball(
  spec: string,
  version: string,
  registry: string | undefined,
  signal?: AbortSignal,
): Promise<NpmTarball> {
  const name = spec.slice('npm:'.length);
  if (!/^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/.test(name)) {
    throw new PermanentError(`file ${spec}: not an npm package name`);
  }
  const base = registry ?? (await hostNpmRegistry());
  if (!base)
    throw new PermanentError(`file ${spec}: no npm registry configured; set KILN_NPM_REGISTRY`);
  const url = `${base.replace(/\/+$/, '')}/${name.replace('/', '%2F')}/${encodeURIComponent(version)}`;
  let response: Response;
  try {
    response = await fetch(url, { signal, headers: { accept: 'application/json' } });
  } catch (cause) {
    throw new TransientError(`file ${spec}@${version}: asking the npm registry`, { cause });
  }
  if (!response.ok) {
    const { status, headers } = response;
    throw httpStatusError({
      what: `file ${spec}@${version}`,
      by: 'the npm registry',
      status,
      headers,
    });
  }
  const parsed = versionDocument.safeParse(await response.json().catch(() => undefined));
  if (!parsed.success)
    throw new PermanentError(
      `file ${spec}@${version}: the registry's answer has no usable dist.tarball and dist.integrity`,
    );
  return { url: parsed.data.dist.tarball, integrity: parsed.data.dist.integrity };
}

/** The algorithm and expected digest (base64) of an integrity string. */
export function integrityParts(integrity: string): {
  algorithm: 'sha256' | 'sha384' | 'sha512';
  base64: string;
} {
  const m = /^(sha256|sha384|sha512)-(.+)$/.exec(integrity);
  if (!m?.[1] || !m[2]) throw new PermanentError(`not an integrity string: ${integrity}`);
  return {
    algorithm: m[1] === 'sha256' ? 'sha256' : m[1] === 'sha384' ? 'sha384' : 'sha512',
    base64: m[2],
  };
}
