import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../errors.ts';
import { fileSchema } from '../../recipe/schema.ts';
import { githubFileUrl, githubWebBase } from './github-url.ts';

describe('github: file URLs', () => {
  it('take the web base of the configured API: github.com, GHE.com, GHES /api/v3, a plain root', () => {
    expect(githubWebBase('https://api.github.com')).toBe('https://github.com');
    expect(githubWebBase('https://api.octo.ghe.com/')).toBe('https://octo.ghe.com');
    expect(githubWebBase('https://ghe.example/api/v3/')).toBe('https://ghe.example');
    expect(githubWebBase('https://ghe.example/git/api/v3')).toBe('https://ghe.example/git');
    expect(githubWebBase('http://127.0.0.1:8080')).toBe('http://127.0.0.1:8080');
  });

  it('resolve owner/repo/path there, leave other URLs alone, and refuse a malformed one', () => {
    expect(
      githubFileUrl('github:Yelp/dumb-init/archive/v1.2.5.tar.gz', 'https://api.github.com'),
    ).toBe('https://github.com/Yelp/dumb-init/archive/v1.2.5.tar.gz');
    expect(
      githubFileUrl('github:Yelp/dumb-init/archive/v1.2.5.tar.gz', 'https://ghe.example/api/v3'),
    ).toBe('https://ghe.example/Yelp/dumb-init/archive/v1.2.5.tar.gz');
    expect(githubFileUrl('https://github.com/a/b/archive/v1.tar.gz', 'https://x.example')).toBe(
      undefined,
    );
    expect(() => githubFileUrl('github:just-a-repo', 'https://api.github.com')).toThrow(
      PermanentError,
    );
  });

  it('are checked when the recipe is loaded', () => {
    const file = (url: string) => ({ url, sha256: 'a'.repeat(64), path: 'src' });
    expect(fileSchema.safeParse(file('github:Yelp/dumb-init/archive/v1.tar.gz')).success).toBe(
      true,
    );
    const bad = fileSchema.safeParse(file('github:dumb-init.tar.gz'));
    expect(bad.error?.issues[0]?.message).toBe('expected github:<owner>/<repo>/<path>');
  });
});
