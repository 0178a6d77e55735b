import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { stringify } from 'yaml';
import { PermanentError } from '../../errors.ts';
import { recipeSchema } from '../../recipe/schema.ts';
import { apkoConfigFor, apkoConfigSchema, shellWord } from './config.ts';

const recipe = recipeSchema.parse({
  name: 'nginx-apk',
  description: 'nginx from APKs',
  license: 'BSD-2-Clause',
  upstream: { github: 'nginx/nginx' },
  build: {
    builder: 'apko',
    archs: ['amd64', 'arm64', 'armhf'],
    apko: {
      repositories: ['https://packages.example.org/os'],
      keyring: ['https://packages.example.org/os/signing.rsa.pub'],
      packages: ['ca-certificates-bundle', 'nginx'],
      paths: [
        { path: '/run/nginx', type: 'directory', uid: 65532, gid: 65532, permissions: '0755' },
        {
          path: '/etc/nginx/default.conf',
          type: 'symlink',
          source: '/usr/share/nginx/default.conf',
        },
      ],
    },
    accounts: {
      'run-as': 'nonroot',
      users: [{ name: 'nonroot', uid: 65532, home: '/home/nonroot' }],
      groups: [{ name: 'nonroot', gid: 65532 }],
    },
    entrypoint: ['/usr/sbin/nginx', '-g', "daemon off; error_log /dev/stderr 'info';"],
    cmd: ['-c', '/etc/nginx/nginx.conf'],
    env: { PATH: '/usr/sbin:/usr/bin' },
    workdir: '/srv',
    annotations: { 'org.opencontainers.image.vendor': 'Example' },
  },
});

/** Shell-like word splitting as apko documents for `entrypoint.command` and `cmd` (POSIX quoting). */
function splitWords(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] ?? '';
    if (c === "'") {
      const end = text.indexOf("'", i + 1);
      word += text.slice(i + 1, end);
      i = end;
      inWord = true;
    } else if (c === '"') {
      i++;
      while (text[i] !== '"') {
        if (text[i] === '\\') i++;
        word += text[i];
        i++;
      }
      inWord = true;
    } else if (c === '\\') {
      word += text[++i] ?? '';
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}

describe('apko config from a recipe', () => {
  const config = apkoConfigFor(recipe, ['amd64', 'arm64', 'armhf'], {
    'dev.kiln.inputs-digest': `sha256:${'1'.repeat(64)}`,
  });
  const yaml = parse(stringify(config)) as Record<string, unknown>;

  it('uses only apko’s documented top-level fields', () => {
    const documented = [
      'contents',
      'entrypoint',
      'cmd',
      'stop-signal',
      'work-dir',
      'accounts',
      'archs',
      'environment',
      'paths',
      'vcs-url',
      'annotations',
      'include',
      'volumes',
      'layering',
      'certificates',
    ];
    for (const key of Object.keys(yaml)) expect(documented).toContain(key);
    expect(apkoConfigSchema.safeParse(yaml).success).toBe(true);
  });

  it('maps contents, accounts, archs, environment, work-dir and annotations', () => {
    expect(yaml.contents).toEqual({
      repositories: ['https://packages.example.org/os'],
      keyring: ['https://packages.example.org/os/signing.rsa.pub'],
      packages: ['ca-certificates-bundle', 'nginx'],
    });
    expect(yaml.accounts).toEqual({
      'run-as': 'nonroot',
      users: [{ username: 'nonroot', uid: 65532, gid: 65532, homedir: '/home/nonroot' }],
      groups: [{ groupname: 'nonroot', gid: 65532, members: [] }],
    });
    expect(yaml.archs).toEqual(['amd64', 'arm64', 'arm/v7']);
    expect(yaml.environment).toEqual({ PATH: '/usr/sbin:/usr/bin' });
    expect(yaml['work-dir']).toBe('/srv');
    expect(yaml.annotations).toEqual({
      'org.opencontainers.image.vendor': 'Example',
      'dev.kiln.inputs-digest': `sha256:${'1'.repeat(64)}`,
    });
  });

  it('writes paths with integer permission bits', () => {
    expect(yaml.paths).toEqual([
      { path: '/run/nginx', type: 'directory', uid: 65532, gid: 65532, permissions: 0o755 },
      { path: '/etc/nginx/default.conf', type: 'symlink', source: '/usr/share/nginx/default.conf' },
    ]);
  });

  it('quotes entrypoint and cmd so apko’s word splitting gives the arguments back', () => {
    const entrypoint = yaml.entrypoint as { command: string };
    expect(splitWords(entrypoint.command)).toEqual([
      '/usr/sbin/nginx',
      '-g',
      "daemon off; error_log /dev/stderr 'info';",
    ]);
    expect(splitWords(yaml.cmd as string)).toEqual(['-c', '/etc/nginx/nginx.conf']);
    for (const odd of ['', 'a b', `it's`, '"q"', '$(x) `y` \\z'])
      expect(splitWords(shellWord(odd))).toEqual([odd]);
  });

  it('refuses an arch apko cannot build', () => {
    expect(() => apkoConfigFor(recipe, ['mips'], {})).toThrow(PermanentError);
  });
});
