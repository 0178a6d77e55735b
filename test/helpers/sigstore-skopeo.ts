import { execFile } from 'node:child_process';
import { access, mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { hostAptSources } from '../../src/host-config/apt.ts';

const run = promisify(execFile);

/** A skopeo to run: `command` then `args`, before skopeo's own arguments. */
export interface Skopeo {
  command: string;
  args: string[];
  version: string;
  /** Where it came from, for test names and messages. */
  origin: string;
}

/** The text Debian bookworm's containers/image returns instead of checking a sigstore signature. */
const disabledMarker = 'Debian-local change: sigstore disabled';
/** The Debian suite whose skopeo (1.18) is built with sigstore verification. */
const suite = 'trixie';

/**
 * A real skopeo whose containers/image verifies sigstore signatures. The one on PATH when it can;
 * Debian bookworm's (1.9.3) cannot: it is built with sigstore disabled and answers every
 * `sigstoreSigned` policy with "Debian-local change: sigstore disabled". Then trixie's skopeo and
 * libc6 are fetched with apt-get from the host's own Debian mirror (a private apt state folder;
 * the host's apt configuration is not touched) and run through trixie's dynamic loader, which
 * bookworm's other libraries (gpgme, devmapper) satisfy. Kept in a folder under the temp dir.
 */
export async function sigstoreSkopeo(): Promise<Skopeo> {
  const onPath = await which('skopeo');
  const pathVersion = await versionOf('skopeo', []);
  const binary = await readFile(onPath);
  if (!binary.includes(disabledMarker))
    return { command: 'skopeo', args: [], version: pathVersion, origin: `${onPath} (PATH)` };
  return fetchSuiteSkopeo();
}

async function fetchSuiteSkopeo(): Promise<Skopeo> {
  const dir = path.join(os.tmpdir(), `kiln-test-skopeo-${suite}`);
  const root = path.join(dir, 'root');
  const done = path.join(dir, 'extracted');
  if (!(await exists(done))) {
    const mirror = (await hostAptSources()).find(
      (s) => s.components.includes('main') && s.suites.some((x) => /^[a-z]+$/.test(x)),
    );
    if (!mirror)
      throw new Error(`no Debian mirror in the host's apt sources to fetch ${suite}'s skopeo from`);
    const parts = path.join(dir, 'sources.list.d');
    await mkdir(path.join(dir, 'lists', 'partial'), { recursive: true });
    await mkdir(path.join(dir, 'cache', 'archives', 'partial'), { recursive: true });
    await mkdir(parts, { recursive: true });
    await writeFile(
      path.join(parts, `${suite}.sources`),
      [
        'Types: deb',
        `URIs: ${mirror.uri}`,
        `Suites: ${suite}`,
        'Components: main',
        ...(mirror.signedBy ? [`Signed-By: ${mirror.signedBy}`] : []),
        '',
      ].join('\n'),
    );
    const apt = [
      '-o',
      'Dir::Etc::SourceList=/dev/null',
      '-o',
      `Dir::Etc::SourceParts=${parts}`,
      '-o',
      `Dir::State::Lists=${path.join(dir, 'lists')}`,
      '-o',
      `Dir::Cache=${path.join(dir, 'cache')}`,
      '-o',
      'APT::Sandbox::User=root',
    ];
    await run('apt-get', [...apt, '-qq', 'update'], { timeout: 300_000 });
    await run('apt-get', [...apt, '-qq', 'download', `skopeo/${suite}`, `libc6/${suite}`], {
      cwd: dir,
      timeout: 300_000,
    });
    for (const deb of (await readdir(dir)).filter((f) => f.endsWith('.deb')))
      await run('dpkg-deb', ['-x', path.join(dir, deb), root]);
    await writeFile(done, '');
  }
  const libDir = path.join(root, 'usr', 'lib');
  const triplet = (await readdir(libDir)).find((d) => d.endsWith('-linux-gnu'));
  if (!triplet) throw new Error(`${suite}'s libc6 has no multiarch folder under ${libDir}`);
  const libc = path.join(libDir, triplet);
  const loader = (await readdir(libc)).find((f) => /^ld-linux.*\.so\.\d+$/.test(f));
  if (!loader) throw new Error(`${suite}'s libc6 has no dynamic loader in ${libc}`);
  const args = [
    '--library-path',
    [libc, `/lib/${triplet}`, `/usr/lib/${triplet}`].join(':'),
    path.join(root, 'usr', 'bin', 'skopeo'),
  ];
  const command = path.join(libc, loader);
  return {
    command,
    args,
    version: await versionOf(command, args),
    origin: `Debian ${suite}'s skopeo`,
  };
}

async function versionOf(command: string, args: string[]): Promise<string> {
  const { stdout } = await run(command, [...args, '--version']);
  return stdout.trim();
}

async function which(name: string): Promise<string> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, name);
    if (await exists(candidate)) return candidate;
  }
  throw new Error(`${name} is not on PATH (Debian's skopeo package installs it)`);
}

async function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}
