import { describe, expect, it } from 'vitest';
import { formatReference, isLoopbackHost, parseReference } from './reference.ts';
import { parseChallenge } from './registry-auth.ts';
import { nextLink } from './registry-client.ts';

const digest = `sha256:${'e'.repeat(64)}`;

describe('image references', () => {
  it('parses host, repository, tag and digest', () => {
    expect(parseReference('127.0.0.1:5000/kiln/python:3.12.7-r0')).toEqual({
      host: '127.0.0.1:5000',
      repository: 'kiln/python',
      tag: '3.12.7-r0',
    });
    expect(parseReference(`registry.example:443/a/b@${digest}`)).toEqual({
      host: 'registry.example:443',
      repository: 'a/b',
      digest,
    });
    expect(parseReference(`localhost/x:1@${digest}`)).toEqual({
      host: 'localhost',
      repository: 'x',
      tag: '1',
      digest,
    });
    expect(parseReference('kiln/python', 'h:1')).toEqual({
      host: 'h:1',
      repository: 'kiln/python',
    });
    expect(formatReference(parseReference(`h.x/a:b@${digest}`))).toBe(`h.x/a:b@${digest}`);
  });

  it('refuses what is not a reference, and never guesses a registry', () => {
    expect(() => parseReference('kiln/python')).toThrow(/no registry host/);
    expect(() => parseReference('h.x/Upper')).toThrow(/repository/);
    expect(() => parseReference('h.x/a@sha256:abc')).toThrow(/digest/);
    expect(() => parseReference('h.x/a:-bad')).toThrow(/tag/);
  });

  it('treats only loopback as plain-HTTP by default', () => {
    expect(isLoopbackHost('127.0.0.1:5000')).toBe(true);
    expect(isLoopbackHost('localhost:5000')).toBe(true);
    expect(isLoopbackHost('[::1]:5000')).toBe(true);
    expect(isLoopbackHost('10.0.0.1:5000')).toBe(false);
    expect(isLoopbackHost('127.example.com')).toBe(false);
  });
});

describe('registry protocol details', () => {
  it('parses WWW-Authenticate challenges, quoted and bare', () => {
    expect(
      parseChallenge(
        'Bearer realm="http://127.0.0.1:1/token",service="registry",scope="repository:a/b:pull,push"',
      ),
    ).toEqual({
      scheme: 'bearer',
      params: {
        realm: 'http://127.0.0.1:1/token',
        service: 'registry',
        scope: 'repository:a/b:pull,push',
      },
    });
    expect(parseChallenge('Basic realm=kiln')).toEqual({
      scheme: 'basic',
      params: { realm: 'kiln' },
    });
    expect(parseChallenge('Bearer realm="a\\"b"')?.params.realm).toBe('a"b');
    expect(parseChallenge('Negotiate abc')).toBeUndefined();
  });

  it('follows RFC 8288 next links', () => {
    expect(nextLink('</v2/a/tags/list?last=b&n=2>; rel="next"', 'http://h:1')).toBe(
      'http://h:1/v2/a/tags/list?last=b&n=2',
    );
    expect(nextLink('<http://other/x>; rel="prev"', 'http://h:1')).toBeUndefined();
    expect(nextLink(null, 'http://h:1')).toBeUndefined();
  });
});

describe('references relative to KILN_REGISTRY', () => {
  it('puts the namespace in front of a reference without a host', async () => {
    const { resolveImageReference } = await import('./registry-from-config.ts');
    expect(resolveImageReference('python:3', '127.0.0.1:5000/kiln')).toEqual({
      host: '127.0.0.1:5000',
      repository: 'kiln/python',
      tag: '3',
    });
    expect(resolveImageReference('127.0.0.1:5000/other/x:1', '127.0.0.1:5000/kiln')).toEqual({
      host: '127.0.0.1:5000',
      repository: 'other/x',
      tag: '1',
    });
    expect(resolveImageReference('python:3', '127.0.0.1:5000')).toEqual({
      host: '127.0.0.1:5000',
      repository: 'python',
      tag: '3',
    });
  });
});
