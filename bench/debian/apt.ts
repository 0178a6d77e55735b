import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import type { SuiteSource } from '../../src/debian/sources.ts';
import { measure, type ProcessCost } from './measure.ts';

/*
 * apt as the resolver baseline: a private apt root (its own sources.list, lists, cache and an
 * empty dpkg status, so nothing counts as installed) over the same suites and mirrors kiln
 * reads, leaving the host's apt state untouched. `apt-get update` fills the lists once (not
 * measured); `apt-get install --simulate` is then measured per package set.
 */

export interface AptRoot {
  options: string[];
}

export async function aptRoot(dir: string, sources: SuiteSource[], arch: string): Promise<AptRoot> {
  for (const d of [
    'lists/partial',
    'cache/archives/partial',
    'etc/sources.list.d',
    'etc/preferences.d',
  ])
    await mkdir(path.join(dir, d), { recursive: true });
  await writeFile(
    path.join(dir, 'etc', 'sources.list'),
    sources
      .map((s) => `deb [arch=${arch} signed-by=${s.keyring}] ${s.mirror} ${s.suite} main\n`)
      .join(''),
  );
  await writeFile(path.join(dir, 'status'), '');
  const options = [
    ['Dir::Etc::SourceList', path.join(dir, 'etc', 'sources.list')],
    ['Dir::Etc::SourceParts', path.join(dir, 'etc', 'sources.list.d')],
    ['Dir::Etc::Preferences', path.join(dir, 'etc', 'preferences')],
    ['Dir::Etc::PreferencesParts', path.join(dir, 'etc', 'preferences.d')],
    ['Dir::State', dir],
    ['Dir::State::Lists', path.join(dir, 'lists')],
    ['Dir::State::status', path.join(dir, 'status')],
    ['Dir::Cache', path.join(dir, 'cache')],
    ['Debug::NoLocking', 'true'],
    ['APT::Architecture', arch],
    ['APT::Architectures', arch],
    ['APT::Install-Recommends', 'false'],
    ['APT::Install-Suggests', 'false'],
    ['APT::Sandbox::User', 'root'],
    ['Acquire::Languages', 'none'],
  ].flatMap(([k, v]) => ['-o', `${k}=${v}`]);
  return { options };
}

/** `apt-get update` into the private root; a failure names apt's last lines. */
export async function aptUpdate(root: AptRoot): Promise<void> {
  const r = await execa('apt-get', [...root.options, '-q', 'update'], { reject: false, all: true });
  if (r.exitCode !== 0)
    throw new Error(`apt-get update failed: ${(r.all ?? '').split('\n').slice(-3).join(' ')}`);
}

/** `apt-get install --simulate` of a package set: its cost, and the closure (name → version). */
export async function aptSimulate(
  root: AptRoot,
  packages: string[],
): Promise<{ cost: ProcessCost; closure: Map<string, string> }> {
  const cost = await measure(
    'apt-get',
    [...root.options, '-q', '--simulate', 'install', ...packages],
    {
      env: { LC_ALL: 'C' },
    },
  );
  if (cost.exitCode !== 0)
    throw new Error(`apt-get --simulate failed: ${cost.stderr.split('\n').slice(-3).join(' ')}`);
  const closure = new Map<string, string>();
  for (const m of cost.stdout.matchAll(/^Inst (\S+) \((\S+) /gm))
    if (m[1] && m[2]) closure.set(m[1].replace(/:\S+$/, ''), m[2]);
  return { cost, closure };
}
