import { createHash } from 'node:crypto';
import { canonicalJson } from '../oci/digest.ts';
import { openVexContext } from '../sign/openvex-types.ts';

/*
 * OpenVEX v0.2.0 (https://openvex.dev/ns/v0.2.0) for one image: `fixed` for each CVE a nano
 * update's changelogs name, `not_affected` + `vulnerable_code_not_present` for feed CVEs whose
 * affected binary packages are not in the image. Deterministic: the same inputs give the same
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

/** A feed CVE of a source package the image has, and the binaries the CVE is in. */
export interface FeedCve {
  cve: string;
  source: string;
  /** Binary packages the vulnerable code ships in. */
  affectedBinaries: string[];
}

export interface VexInput {
  /** The image, as a purl: `pkg:oci/python@sha256:…?repository_url=host/kiln/python`. */
  product: string;
  /** The binary package names in the image. */
  imagePackages: ReadonlySet<string>;
  fixed: FixedCve[];
  feed: FeedCve[];
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
  for (const c of [...input.feed].sort(
    (a, b) => a.cve.localeCompare(b.cve) || a.source.localeCompare(b.source),
  )) {
    if (fixedIds.has(c.cve) || seen.has(c.cve) || c.affectedBinaries.length === 0) continue;
    if (c.affectedBinaries.some((b) => input.imagePackages.has(b))) continue;
    seen.add(c.cve);
    statements.push({
      vulnerability: { name: c.cve },
      products: [{ '@id': input.product }],
      status: 'not_affected',
      justification: 'vulnerable_code_not_present',
      impact_statement: `The vulnerable code ships in ${[...c.affectedBinaries].sort().join(', ')} (source package ${c.source}), none of which is in this image.`,
    });
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
