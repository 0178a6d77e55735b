import type { IncomingMessage, ServerResponse } from 'node:http';

/*
 * The web side's source archives, as github.com serves them: `/<owner>/<repo>/archive/<ref>.tar.gz`
 * (and `/archive/refs/tags/<tag>.tar.gz`) answer 302 to codeload, whose `/<owner>/<repo>/tar.gz/<ref>`
 * sends the bytes as an attachment. No API rate limit is spent. Tests register the bytes with
 * `archives.add`, from a source they can reach (e.g. a Debian .orig.tar.gz that is GitHub's
 * archive byte for byte); an unknown archive is a 404, as on GitHub.
 */

export class GithubArchives {
  private readonly bytes = new Map<string, Buffer>();
  /** Archive downloads served (codeload answers with a body), per `owner/repo@ref`. */
  readonly downloads = new Map<string, number>();

  private key(fullName: string, ref: string): string {
    return `${fullName.toLowerCase()}@${ref}`;
  }

  /** Serves `data` as the `.tar.gz` archive of `fullName` (`owner/repo`) at `ref` (a tag). */
  add(fullName: string, ref: string, data: Buffer): void {
    this.bytes.set(this.key(fullName, ref), data);
  }

  /** Handles the request if it is an archive or codeload path; false otherwise. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL, webBase: string): boolean {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    const archive = /^\/([^/]+)\/([^/]+)\/archive\/(?:refs\/tags\/)?(.+)\.tar\.gz$/.exec(
      url.pathname,
    );
    if (archive) {
      const [, owner = '', repo = '', ref = ''] = archive;
      res.writeHead(302, { location: `${webBase}/codeload/${owner}/${repo}/tar.gz/${ref}` });
      res.end();
      return true;
    }
    const codeload = /^\/codeload\/([^/]+)\/([^/]+)\/tar\.gz\/(.+)$/.exec(url.pathname);
    if (!codeload) return false;
    const [, owner = '', repo = '', ref = ''] = codeload;
    const key = this.key(`${owner}/${repo}`, decodeURIComponent(ref));
    const data = this.bytes.get(key);
    if (!data) {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
      res.end('404: Not Found');
      return true;
    }
    this.downloads.set(key, (this.downloads.get(key) ?? 0) + 1);
    res.writeHead(200, {
      'content-type': 'application/x-gzip',
      'content-length': String(data.length),
      'content-disposition': `attachment; filename=${repo}-${ref.replace(/^v/, '')}.tar.gz`,
    });
    res.end(req.method === 'HEAD' ? undefined : data);
    return true;
  }
}
