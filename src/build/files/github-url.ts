import { PermanentError } from '../../errors.ts';
import { githubFileUrl as githubFilePattern } from '../../recipe/schema.ts';

/*
 * `github:<owner>/<repo>/<path>` in a recipe's `files`: a file on the web side of the GitHub kiln
 * is configured for (KILN_GITHUB_API_URL), the same GitHub the `github` upstream watches. So a
 * GitHub Enterprise Server user (KILN_GITHUB_API_URL=https://host/api/v3) fetches
 * `https://host/<owner>/<repo>/<path>`, github.com users `https://github.com/…`, and the tests
 * their local server, with no host name in the recipe. A plain `https://github.com/…` URL is
 * always fetched as written.
 */

/**
 * The web base of a GitHub API URL: `https://api.github.com` → `https://github.com` (and
 * `api.<name>.ghe.com` → `<name>.ghe.com`), GitHub Enterprise Server's `https://host/api/v3` →
 * `https://host`; any other base (a proxy, the tests' server) serves both from one root.
 */
export function githubWebBase(apiUrl: string): string {
  const url = new URL(apiUrl.replace(/\/+$/, ''));
  if (/\/api\/v3$/.test(url.pathname))
    return `${url.origin}${url.pathname.replace(/\/api\/v3$/, '')}`;
  if (url.hostname.startsWith('api.') && (url.pathname === '/' || url.pathname === ''))
    return `${url.protocol}//${url.hostname.slice('api.'.length)}${url.port ? `:${url.port}` : ''}`;
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/**
 * The https URL of a `github:` spec on the GitHub at `apiUrl` (kiln's KILN_GITHUB_API_URL), or
 * undefined when `spec` is not one.
 */
export function githubFileUrl(spec: string, apiUrl: string | undefined): string | undefined {
  if (!spec.startsWith('github:')) return undefined;
  if (!githubFilePattern.test(spec))
    throw new PermanentError(`file ${spec}: expected github:<owner>/<repo>/<path>`);
  if (!apiUrl)
    throw new PermanentError(`file ${spec}: no GitHub configured; set KILN_GITHUB_API_URL`);
  return `${githubWebBase(apiUrl)}/${spec.slice('github:'.length)}`;
}
