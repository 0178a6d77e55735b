import { describe, expect, it } from 'vitest';
import { sandboxArgs, sandboxEnv } from './sandbox.ts';

const spec = {
  network: false,
  home: '/job/scratch/home',
  tmpDir: '/job/scratch/tmp',
  readable: ['/recipes/app', '/job/scratch/context'],
  writable: ['/job/scratch/buildah', '/job/layout', '/job/scratch/home', '/job/scratch/tmp'],
};

/** The destinations of every bind, as bwrap gets them. */
function bound(args: string[]): string[] {
  const out: string[] = [];
  args.forEach((a, i) => {
    if (a === '--bind' || a === '--ro-bind') out.push(args[i + 2] ?? '');
  });
  return out;
}

describe('sandboxArgs', () => {
  it('unshares the network unless the recipe asks for it, and runs the tool verbatim after --', () => {
    const args = sandboxArgs(spec, 'buildah', ['bud', '$(id)']);
    expect(args).toContain('--unshare-net');
    expect(args).toContain('--unshare-pid');
    expect(args.slice(args.indexOf('--'))).toEqual(['--', 'buildah', 'bud', '$(id)']);
    expect(sandboxArgs({ ...spec, network: true }, 'buildah', [])).not.toContain('--unshare-net');
  });

  it('binds only system folders, a few /etc entries and the job’s folders; nothing of the host’s home or checkout', () => {
    const dests = bound(sandboxArgs(spec, 'buildah', []));
    for (const d of dests) {
      expect(
        d.startsWith('/usr') ||
          d.startsWith('/etc/') ||
          d === '/sys' ||
          d === '/var/tmp' ||
          d.startsWith('/job/') ||
          d.startsWith('/recipes/') ||
          /^\/(bin|sbin|lib|lib32|lib64|libx32)$/.test(d),
      ).toBe(true);
    }
    expect(dests).not.toContain('/etc');
    expect(dests).not.toContain(process.cwd());
    const args = sandboxArgs(spec, 'buildah', []);
    expect(args[args.indexOf('/var/tmp') - 2]).toBe('--bind');
    expect(args[args.indexOf('/var/tmp') - 1]).toBe('/job/scratch/tmp');
    expect(args[args.indexOf('/job/layout') - 1]).toBe('--bind');
    expect(args[args.indexOf('/recipes/app') - 1]).toBe('--ro-bind');
  });

  it('hands the tool an explicit environment', () => {
    expect(Object.keys(sandboxEnv(spec, { SOURCE_DATE_EPOCH: '1' })).sort()).toEqual([
      'BUILDAH_ISOLATION',
      'HOME',
      'LANG',
      'LC_ALL',
      'PATH',
      'SOURCE_DATE_EPOCH',
      'STORAGE_DRIVER',
      'TMPDIR',
      'TZ',
    ]);
  });
});
