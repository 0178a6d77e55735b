import { PermanentError } from '../errors.ts';
import { isDigest } from './digest.ts';

/** A parsed image reference: `host[:port]/repository[:tag][@sha256:…]`. */
export interface ImageReference {
  /** `host[:port]` of the registry. */
  host: string;
  /** Repository path inside the registry, e.g. `kiln/python`. */
  repository: string;
  tag?: string;
  digest?: string;
}

const componentPattern = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const tagPattern = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

/** True for a repository path the distribution spec accepts (`a/b-c/d.e`). */
export function isRepositoryName(name: string): boolean {
  return (
    name.length > 0 && name.length <= 255 && name.split('/').every((c) => componentPattern.test(c))
  );
}

export function isTag(tag: string): boolean {
  return tagPattern.test(tag);
}

/**
 * Parses an image reference. The first path component is the registry host when it looks like
 * one (has a `.` or `:`, or is `localhost`); otherwise `defaultHost` is used, and without one the
 * reference is refused: kiln never guesses a registry.
 */
export function parseReference(ref: string, defaultHost?: string): ImageReference {
  const bad = (why: string) => new PermanentError(`image reference ${JSON.stringify(ref)}: ${why}`);
  let rest = ref.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!isDigest(digest)) throw bad('the digest must be sha256:<64 hex>');
  }
  let host: string | undefined;
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    host = first;
    rest = rest.slice(slash + 1);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isTag(tag)) throw bad(`${JSON.stringify(tag)} is not a valid tag`);
  }
  if (!isRepositoryName(rest)) throw bad(`${JSON.stringify(rest)} is not a valid repository name`);
  host ??= defaultHost;
  if (!host) throw bad('no registry host (write it as host[:port]/repository)');
  return { host, repository: rest, ...(tag ? { tag } : {}), ...(digest ? { digest } : {}) };
}

/** `host/repository[:tag][@digest]`. */
export function formatReference(ref: ImageReference): string {
  return `${ref.host}/${ref.repository}${ref.tag ? `:${ref.tag}` : ''}${ref.digest ? `@${ref.digest}` : ''}`;
}

/** Loopback hosts are reached over plain HTTP; every other host needs TLS unless listed as insecure. */
export function isLoopbackHost(host: string): boolean {
  const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
  return name === 'localhost' || name === '::1' || /^127(\.\d{1,3}){3}$/.test(name);
}
