import { createHash, X509Certificate } from 'node:crypto';
import path from 'node:path';
import { PermanentError } from '../../errors.ts';
import type { LayerEntry } from '../../oci/tar.ts';

/*
 * Java's trust store, which Debian's ca-certificates-java writes in its maintainer script (kiln
 * runs none): a JKS keystore of every certificate in the CA bundle, at the path Debian's JREs
 * link their lib/security/cacerts to. JDK 9+ reads JKS through keystore.type.compat (the default
 * PKCS12 type falls back to JKS by the file's magic), as it reads Debian's own cacerts.
 * Written by hand: no maintained npm library writes JKS (jks-js only reads it), and the format
 * is one loop and a SHA-1 (sun.security.provider.JavaKeyStore#engineStore).
 */

/** Where Debian's JREs find the trust store (their lib/security/cacerts links here). */
export const javaCacertsPath = 'etc/ssl/certs/java/cacerts';
/** keytool's and Debian's default store password: it only keys the integrity digest. */
export const javaCacertsPassword = 'changeit';
/** Changes whenever the bytes written for the same bundle change (keys the layer cache). */
const javaCacertsFormat = 'jks-1';

const jksMagic = 0xfeedfeed;
const jksVersion = 2;
const trustedCertTag = 2;

/** Whether a package of the image links to Java's trust store (a Debian JRE does). */
export function wantsJavaCacerts(links: ReadonlyMap<string, string>): boolean {
  for (const [p, target] of links) {
    const resolved = target.startsWith('/')
      ? target.slice(1)
      : path.posix.normalize(path.posix.join(path.posix.dirname(p), target));
    if (resolved === javaCacertsPath) return true;
  }
  return false;
}

/** Java's modified UTF-8 with its 16-bit length (DataOutputStream#writeUTF). */
function writeUtf(s: string, what: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0x01 && c <= 0x7f) bytes.push(c);
    else if (c <= 0x7ff) bytes.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else bytes.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  if (bytes.length > 0xffff) throw new PermanentError(`${what}: alias too long for JKS`);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(bytes.length);
  return Buffer.concat([len, Buffer.from(bytes)]);
}

/** The DER certificates of a PEM bundle, in order. */
export function pemCertificates(pem: string, what: string): Buffer[] {
  const out: Buffer[] = [];
  const re = /-----BEGIN CERTIFICATE-----([\s\S]*?)-----END CERTIFICATE-----/g;
  for (const m of pem.matchAll(re)) {
    const der = Buffer.from((m[1] ?? '').replace(/\s+/g, ''), 'base64');
    try {
      new X509Certificate(der);
    } catch (cause) {
      throw new PermanentError(`${what}: certificate ${out.length + 1} is not valid DER`, {
        cause,
      });
    }
    out.push(der);
  }
  return out;
}

/**
 * A JKS alias per certificate, as Debian's read `debian:<name>.pem`: the subject's CN (else the
 * whole subject) in lower-case ASCII, numbered when two certificates share it. JKS lower-cases
 * aliases when it loads them, so these are already in that form.
 */
function aliasesOf(ders: Buffer[]): string[] {
  const seen = new Map<string, number>();
  return ders.map((der) => {
    const subject = new X509Certificate(der).subject;
    const cn = /^CN=(.*)$/m.exec(subject)?.[1] ?? subject;
    const base = cn
      .normalize('NFKD')
      .replace(/[^\x20-\x7e]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9.()=-]+/g, '_')
      .replace(/^_+|_+$/g, '');
    const n = (seen.get(base) ?? 0) + 1;
    seen.set(base, n);
    return `debian:${base || 'ca'}${n > 1 ? `_${n}` : ''}.pem`;
  });
}

/**
 * A JKS keystore holding each certificate as a trusted-certificate entry, in the order given,
 * every entry dated `dateSeconds` (so the same bundle and date give the same bytes), sealed with
 * the keystore's SHA-1 integrity digest over `password`.
 */
export function jksTrustStore(
  ders: Buffer[],
  dateSeconds: number,
  password = javaCacertsPassword,
  what = 'Java trust store',
): Buffer {
  const aliases = aliasesOf(ders);
  const header = Buffer.alloc(12);
  header.writeUInt32BE(jksMagic, 0);
  header.writeUInt32BE(jksVersion, 4);
  header.writeUInt32BE(ders.length, 8);
  const parts: Buffer[] = [header];
  ders.forEach((der, i) => {
    const tag = Buffer.alloc(4);
    tag.writeUInt32BE(trustedCertTag);
    const date = Buffer.alloc(8);
    date.writeBigInt64BE(BigInt(dateSeconds) * 1000n);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(der.length);
    parts.push(tag, writeUtf(aliases[i] ?? '', what), date, writeUtf('X.509', what), len, der);
  });
  const body = Buffer.concat(parts);
  const digest = createHash('sha1')
    .update(Buffer.from(password, 'utf16le').swap16())
    .update('Mighty Aphrodite', 'utf8')
    .update(body)
    .digest();
  return Buffer.concat([body, digest]);
}

/**
 * The trust store entry for the ca-certificates layer when the image holds a JRE that links to
 * it: the CA bundle's certificates as JKS, dated with the layer's mtime. Otherwise nothing.
 */
export function javaCacerts(
  bundle: LayerEntry | undefined,
  links: ReadonlyMap<string, string>,
  mtime: number,
): LayerEntry[] {
  if (!bundle?.data || !wantsJavaCacerts(links)) return [];
  const what = `Java trust store from ${bundle.path}`;
  const ders = pemCertificates(bundle.data.toString('utf8'), what);
  if (ders.length === 0) return [];
  return [
    {
      path: javaCacertsPath,
      type: 'file',
      mode: 0o644,
      data: jksTrustStore(ders, mtime, undefined, what),
    },
  ];
}

/** What the trust store adds to the key of the layer it goes into (none without a JRE). */
export function javaCacertsKey(
  name: string,
  links: ReadonlyMap<string, string>,
): { javaCacerts?: string } {
  return name === 'ca-certificates' && wantsJavaCacerts(links)
    ? { javaCacerts: javaCacertsFormat }
    : {};
}
