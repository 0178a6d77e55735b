import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  javaCacerts,
  javaCacertsKey,
  javaCacertsPath,
  jksTrustStore,
  pemCertificates,
  wantsJavaCacerts,
} from './java-cacerts.ts';

const hostBundle = '/etc/ssl/certs/ca-certificates.crt';
const jreLink: [string, string] = [
  'usr/lib/jvm/java-21-openjdk-amd64/lib/security/cacerts',
  '/etc/ssl/certs/java/cacerts',
];
const hasKeytool =
  (await execa('keytool', ['-help'], { reject: false }).catch(() => undefined))?.exitCode === 0;

describe('Java trust store (JKS) from the CA bundle', () => {
  let dir: string;
  let pem: Buffer;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-cacerts-'));
    pem = await readFile(hostBundle);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('is written only when a package links to it, and only then keys the ca-certificates layer', () => {
    const bundle = {
      path: 'etc/ssl/certs/ca-certificates.crt',
      type: 'file' as const,
      mode: 0o644,
      data: pem,
    };
    const none = new Map([['usr/bin/x', 'y']]);
    const relative = new Map([['etc/ssl/certs/java/link', 'cacerts']]);
    expect(javaCacerts(bundle, none, 1)).toEqual([]);
    expect(javaCacertsKey('ca-certificates', none)).toEqual({});
    expect(wantsJavaCacerts(relative)).toBe(true);
    const jre = new Map([jreLink]);
    expect(javaCacertsKey('ca-certificates', jre)).toEqual({ javaCacerts: 'jks-1' });
    expect(javaCacertsKey('tzdata', jre)).toEqual({});
    const [entry] = javaCacerts(bundle, jre, 1_700_000_000);
    expect(entry?.path).toBe(javaCacertsPath);
    expect(entry?.data?.subarray(0, 4).toString('hex')).toBe('feedfeed');
  });

  it('gives the same bytes for the same bundle and date, other bytes for another date', () => {
    const ders = pemCertificates(pem.toString('utf8'), hostBundle);
    expect(ders.length).toBeGreaterThan(100);
    const a = jksTrustStore(ders, 1_700_000_000);
    expect(jksTrustStore(ders, 1_700_000_000).equals(a)).toBe(true);
    expect(jksTrustStore(ders, 1_700_000_001).equals(a)).toBe(false);
  });

  it.skipIf(!hasKeytool)(
    'is read by keytool with its integrity digest checked: every certificate, each dated',
    async () => {
      const ders = pemCertificates(pem.toString('utf8'), hostBundle);
      const file = path.join(dir, 'cacerts');
      await writeFile(file, jksTrustStore(ders, 1_700_000_000));
      const listed = await execa(
        'keytool',
        ['-list', '-keystore', file, '-storepass', 'changeit'],
        {
          env: { LC_ALL: 'C' },
        },
      );
      expect(listed.stdout).toMatch(/Keystore type: (JKS|jks)/i);
      expect(listed.stdout).toContain(`Your keystore contains ${ders.length} entries`);
      expect(listed.stdout.match(/trustedCertEntry/g)?.length).toBe(ders.length);
      expect(listed.stdout).toMatch(/debian:isrg_root_x1\.pem, Nov 14, 2023, trustedCertEntry/);
      // A wrong password fails the digest: the digest covers every byte.
      const wrong = await execa('keytool', ['-list', '-keystore', file, '-storepass', 'changeme'], {
        reject: false,
        env: { LC_ALL: 'C' },
      });
      expect(wrong.exitCode).not.toBe(0);
      expect(wrong.stdout + wrong.stderr).toMatch(/password was incorrect|tampered/);
    },
  );
});
