import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { chmod, lstat, mkdir, open, readdir, readlink, rm } from 'node:fs/promises';
import path from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { PermanentError, TransientError } from '../../errors.ts';
import { httpStatusError } from '../../http-errors.ts';
import type { Logger } from '../../log.ts';
import type { BuildMaterial } from '../../model/build-result.ts';
import type { z } from 'zod';
import type { Config } from '../../config.ts';
import type { fileSchema } from '../../recipe/schema.ts';
import { runTool } from '../exec.ts';
import { githubFileUrl } from '../files/github-url.ts';
import { integrityParts, npmTarball } from '../files/npm-package.ts';

type RecipeFile = z.infer<typeof fileSchema>;

/** Where `npm:` and `github:` files come from: kiln's KILN_NPM_REGISTRY and KILN_GITHUB_API_URL. */
export type FileSources = Partial<Pick<Config, 'githubApiUrl' | 'npmRegistry'>>;

export interface FetchedFile {
  /** Absolute path in the build context: the file, or the folder it was unpacked into. */
  localPath: string;
  extracted: boolean;
  material: BuildMaterial;
}

/**
 * Fetches the recipe's files into the build context. Every file must carry a checksum (its
 * `sha256`, or a `checksum-url` in `sha256sum` format); a mismatch fails the build for good.
 */
export async function fetchFiles(
  files: readonly RecipeFile[] | undefined,
  options: FetchOptions,
): Promise<FetchedFile[]> {
  const out: FetchedFile[] = [];
  for (const file of files ?? []) out.push(await fetchFile(file, options));
  return out;
}

type FetchOptions = FileSources & {
  version: string;
  contextDir: string;
  signal?: AbortSignal;
  log?: Logger;
};

/** One file's source and place: its expanded spec, its npm tarball if any, its URL and target. */
interface LocatedFile {
  spec: string;
  npm: Awaited<ReturnType<typeof npmTarball>> | undefined;
  url: string;
  target: string;
}

async function fetchFile(file: RecipeFile, options: FetchOptions): Promise<FetchedFile> {
  const located = await locate(file, options);
  const { url, target } = located;
  const download = file.extract ? `${target}.download` : target;
  const actual = await downloadChecked(file, options, located, download);
  if (file.mode) await chmod(download, parseInt(file.mode, 8));
  if (file.extract) {
    await extract(download, target, file['strip-components'] ?? 0, url, options.signal);
    await rm(download, { force: true });
    await refuseEscapingLinks(options.contextDir, target, `file ${url}`);
  }
  options.log?.info({ url, sha256: actual, path: file.path }, 'fetched');
  return {
    localPath: target,
    extracted: file.extract ?? false,
    material: { uri: url, digest: { sha256: actual }, name: file.path },
  };
}

async function locate(file: RecipeFile, options: FetchOptions): Promise<LocatedFile> {
  const spec = file.url.replaceAll('${version}', options.version);
  // `npm:<package>`: the registry's tarball at this version, checked against its published integrity.
  const npm = spec.startsWith('npm:')
    ? await npmTarball(spec, options.version, options.npmRegistry, options.signal)
    : undefined;
  // `github:<owner>/<repo>/<path>`: on the web side of the configured GitHub (KILN_GITHUB_API_URL).
  const url = npm?.url ?? githubFileUrl(spec, options.githubApiUrl) ?? spec;
  const target = path.resolve(options.contextDir, file.path.replace(/^\/+/, ''));
  if (!target.startsWith(options.contextDir + path.sep)) {
    throw new PermanentError(`file ${url}: path ${file.path} leaves the build context`);
  }
  // Text is not enough: no folder on the way and not the file itself may be a symlink (one
  // shipped in the context, or unpacked from an earlier archive), or the write lands outside.
  await safeParents(options.contextDir, target, `file ${url}: path ${file.path}`);
  return { spec, npm, url, target };
}

/** Downloads to `download` and checks the sha256 (or npm integrity); a mismatch removes it. */
async function downloadChecked(
  file: RecipeFile,
  options: FetchOptions,
  { spec, npm, url }: LocatedFile,
  download: string,
): Promise<string> {
  const expected =
    file.sha256 ??
    (file['checksum-url']
      ? await checksumFrom(checksumUrlOf(file['checksum-url'], options), url, options.signal)
      : undefined);
  if (!expected && !npm)
    throw new PermanentError(
      `file ${url}: give it a sha256 or a checksum-url; kiln fetches nothing unchecked`,
    );
  const { sha256: actual, integrity } = await download_(
    url,
    download,
    options.signal,
    npm ? integrityParts(npm.integrity).algorithm : undefined,
  );
  if (expected && actual !== expected) {
    await rm(download, { force: true });
    throw new PermanentError(`file ${url}: sha256 is ${actual}, the recipe expects ${expected}`);
  }
  if (npm && integrity !== integrityParts(npm.integrity).base64) {
    await rm(download, { force: true });
    throw new PermanentError(
      `file ${spec}: the tarball does not match the registry's integrity ${npm.integrity}`,
    );
  }
  return actual;
}

function checksumUrlOf(spec: string, options: FileSources & { version: string }): string {
  const expanded = spec.replaceAll('${version}', options.version);
  return githubFileUrl(expanded, options.githubApiUrl) ?? expanded;
}

async function download_(
  url: string,
  dest: string,
  signal?: AbortSignal,
  integrityAlgorithm?: 'sha256' | 'sha384' | 'sha512',
): Promise<{ sha256: string; integrity: string | undefined }> {
  let response: Response;
  try {
    response = await fetch(url, { signal, redirect: 'follow' });
  } catch (cause) {
    throw new TransientError(`fetching ${url}`, { cause });
  }
  if (!response.ok || !response.body) {
    await response.body?.cancel();
    throw httpStatusError({
      what: `fetching ${url}`,
      status: response.status,
      headers: response.headers,
    });
  }
  const hash = createHash('sha256');
  const second = integrityAlgorithm ? createHash(integrityAlgorithm) : undefined;
  const hashing = new Transform({
    transform(chunk: Buffer, _enc, done) {
      hash.update(chunk);
      second?.update(chunk);
      done(null, chunk);
    },
  });
  // O_NOFOLLOW: a symlink at the destination is refused by the kernel (ELOOP), never followed.
  const handle = await open(
    dest,
    constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW,
    0o644,
  ).catch(async (cause: NodeJS.ErrnoException) => {
    await response.body?.cancel().catch(() => undefined);
    throw new PermanentError(
      cause.code === 'ELOOP'
        ? `fetching ${url}: ${dest} is a symlink: kiln writes through no link`
        : `fetching ${url}: cannot write ${dest}`,
      { cause },
    );
  });
  try {
    await pipeline(
      Readable.fromWeb(response.body as WebReadableStream<Uint8Array>),
      hashing,
      handle.createWriteStream(),
    );
  } catch (cause) {
    throw new TransientError(`fetching ${url}: download interrupted`, { cause });
  }
  return { sha256: hash.digest('hex'), integrity: second?.digest('base64') };
}

/**
 * Checks every component of `target` below `root` with lstat, creating missing folders one at a
 * time: a symlink anywhere on the way, or at `target` itself, is refused. `root` is kiln's own
 * folder (the private copy of the context).
 */
async function safeParents(root: string, target: string, what: string): Promise<void> {
  // The root is kiln's own folder, which a builder may not have made yet (the debian builder's
  // files folder): only what lies below it can be a recipe's link.
  await mkdir(root, { recursive: true });
  const parts = path.relative(root, target).split(path.sep);
  let at = root;
  for (const [i, part] of parts.entries()) {
    at = path.join(at, part);
    const last = i === parts.length - 1;
    const st = await lstat(at).catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return undefined;
      throw e;
    });
    if (st?.isSymbolicLink())
      throw new PermanentError(
        `${what} goes through the symlink ${path.relative(root, at)}: kiln writes through no link`,
      );
    if (last) return;
    if (!st) await mkdir(at, { mode: 0o755 });
    else if (!st.isDirectory())
      throw new PermanentError(`${what}: ${path.relative(root, at)} is not a folder`);
  }
}

/** Refuses symlinks an unpacked archive left that point outside the build context. */
async function refuseEscapingLinks(root: string, dir: string, what: string): Promise<void> {
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isSymbolicLink()) {
      const target = await readlink(p);
      const resolved = path.resolve(path.dirname(p), target);
      if (resolved !== root && !resolved.startsWith(root + path.sep))
        throw new PermanentError(
          `${what}: the archive holds the symlink ${path.relative(root, p)} -> ${target}, which points outside the build context`,
        );
    } else if (entry.isDirectory()) {
      await refuseEscapingLinks(root, p, what);
    }
  }
}

/** Reads the sha256 for `url`'s file name from a `sha256sum`-style file (or a lone digest). */
async function checksumFrom(
  checksumUrl: string,
  url: string,
  signal?: AbortSignal,
): Promise<string> {
  let text: string;
  try {
    const response = await fetch(checksumUrl, { signal });
    if (!response.ok) {
      const { status, headers } = response;
      throw httpStatusError({ what: `fetching checksums ${checksumUrl}`, status, headers });
    }
    text = await response.text();
  } catch (cause) {
    if (cause instanceof PermanentError || cause instanceof TransientError) throw cause;
    throw new TransientError(`fetching checksums ${checksumUrl}`, { cause });
  }
  const name = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  const lines = text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
  for (const line of lines) {
    const match = /^([a-f0-9]{64})\s+\*?(.+)$/.exec(line);
    if (match?.[1] && match[2] && path.basename(match[2]) === name) return match[1];
  }
  if (lines.length === 1 && /^[a-f0-9]{64}$/.test(lines[0] ?? '')) return lines[0] ?? '';
  throw new PermanentError(`checksums ${checksumUrl} list no sha256 for ${name}`);
}

/** Unpacks an archive at `target`, dropping `strip` leading path components of each entry. */
async function extract(
  archive: string,
  target: string,
  strip: number,
  url: string,
  signal?: AbortSignal,
): Promise<void> {
  await rm(target, { recursive: true, force: true });
  await mkdir(target, { recursive: true });
  await runTool({
    what: `unpacking ${url}`,
    file: 'tar',
    args: [
      '-x',
      '-f',
      archive,
      '-C',
      target,
      '--no-same-owner',
      '--no-same-permissions',
      `--strip-components=${strip}`,
    ],
    signal,
    timeoutMs: 10 * 60_000,
  });
}
