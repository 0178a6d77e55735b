import { createHash } from 'node:crypto';
import { canonicalJson } from '../oci/digest.ts';
import { openVexContext } from '../sign/openvex-types.ts';
import type { NotAffectedCve } from './not-affected.ts';

/*
 * OpenVEX v0.2.0 (https://openvex.dev/ns/v0.2.0) for one image: `fixed` for each CVE a nano
 * update's changelogs name, `not_affected` + `vulnerable_code_not_present` for the feed CVEs
 * not-affected.ts finds (never affected in the release, or affected binaries absent; one
 * statement per CVE and source). Deterministic: the same inputs give the same
 * bytes (and so the same attestation), the document id is derived from its statements.
 */

// The format's names live with the other attestation formats in src/sign (verify checks them).
export { openVexPredicateType } from '../sign/openvex-types.ts';
export { openVexContext };

export interface VexComponent {
  '@id': string;
  subcomponents?: { '@id': string }[];
}

export interface VexStatement {
  vulnerability: { name: string };
  products: VexComponent[];
  status: 'fixed' | 'not_affected';
  justification?: 'vulnerable_code_not_present';
  impact_statement?: string;
  status_notes?: string;
}

export interface OpenVexDocument {
  '@context': typeof openVexContext;
  '@id': string;
  author: string;
  timestamp: string;
  version: 1;
  tooling: string;
  statements: VexStatement[];
}

/** A CVE one update fixed: from the new package's changelog. */
export interface FixedCve {
  cve: string;
  /** purls of the image's packages that carry the fix (the updated binaries). */
  packages: string[];
  /** `openssl 3.5.4-1~deb13u1 → 3.5.4-1~deb13u2`. */
  note: string;
}

export interface VexInput {
  /** The image, as a purl: `pkg:oci/python@sha256:…?repository_url=host/kiln/python`. */
  product: string;
  fixed: FixedCve[];
  /** Feed CVEs the image is not affected by (not-affected.ts). */
  notAffected: NotAffectedCve[];
  /** RFC 3339: the image's creation time, so a rebuild of the same inputs gives the same bytes. */
  timestamp: string;
  author?: string;
}

/** `pkg:oci/<name>@<digest>?repository_url=<host/repo>`, as the purl spec writes OCI images. */
export function ociPurl(repository: string, digest: string): string {
  const name = repository.slice(repository.lastIndexOf('/') + 1).toLowerCase();
  return `pkg:oci/${name}@${encodeURIComponent(digest)}?repository_url=${encodeURIComponent(repository)}`;
}

export function openVexDocument(input: VexInput): OpenVexDocument {
  const statements: VexStatement[] = [];
  const fixedIds = new Set<string>();
  for (const f of [...input.fixed].sort((a, b) => a.cve.localeCompare(b.cve))) {
    if (fixedIds.has(f.cve)) continue;
    fixedIds.add(f.cve);
    statements.push({
      vulnerability: { name: f.cve },
      products: [
        {
          '@id': input.product,
          subcomponents: [...new Set(f.packages)].sort().map((p) => ({ '@id': p })),
        },
      ],
      status: 'fixed',
      status_notes: f.note,
    });
  }
  const seen = new Set<string>();
  for (const c of [...input.notAffected].sort(
    (a, b) => a.cve.localeCompare(b.cve) || a.source.localeCompare(b.source),
  )) {
    if (fixedIds.has(c.cve) || seen.has(`${c.cve} ${c.source}`)) continue;
    seen.add(`${c.cve} ${c.source}`);
    statements.push(notAffectedStatement(input.product, c));
  }
  const id = createHash('sha256')
    .update(canonicalJson({ product: input.product, statements }))
    .digest('hex');
  return {
    '@context': openVexContext,
    '@id': `https://kiln.dev/vex/${id}`,
    author: input.author ?? 'kiln',
    timestamp: input.timestamp,
    version: 1,
    tooling: 'kiln',
    statements,
  };
}

/**
 * kiln's wording of why the image is not affected; `kiln verify` reads the binaries back from
 * the `ships only in …, which this image does not carry` part and checks the signed SBOM.
 */
export function impactStatement(c: NotAffectedCve): string {
  const carried = c.packages.map((p) => p.name).join(', ');
  return c.reason.kind === 'never-affected'
    ? `Debian's security tracker records ${c.source} in ${c.reason.release} as never affected (fixed version 0): its vulnerable code is not in this release's ${c.source}, of which this image carries ${carried}.`
    : `The vulnerable code of ${c.source} ${c.sourceVersion} ships only in ${c.reason.affected.join(', ')}, which this image does not carry; it carries ${carried}.`;
}

/**
 * One `not_affected` statement: the image, with the binaries of that source it does carry as
 * subcomponents (what a scanner reports the CVE against: it maps them to the source package).
 */
function notAffectedStatement(product: string, c: NotAffectedCve): VexStatement {
  return {
    vulnerability: { name: c.cve },
    products: [
      {
        '@id': product,
        subcomponents: [...new Set(c.packages.map((p) => p.purl))]
          .sort()
          .map((p) => ({ '@id': p })),
      },
    ],
    status: 'not_affected',
    justification: 'vulnerable_code_not_present',
    impact_statement: impactStatement(c),
  };
}
