import { createHash } from 'node:crypto';
import type { BuildPackage } from '../model/build-result.ts';

/** What an SPDX 2.3 document for one image (or one arch of it) is made from. */
export interface SpdxInput {
  /** Document name, e.g. `python-3.12.7-r0` or `python-3.12.7-r0-amd64`. */
  name: string;
  /**
   * The document namespace (an absolute URI without `#`). When absent it is derived from the name,
   * the digest and the package list, so the same image always gets the same document.
   */
  namespace?: string;
  /** `sha256:…` of what the document describes (the image index or arch manifest), if known. */
  digest?: string;
  packages: BuildPackage[];
  /** RFC 3339 UTC time; seconds precision is kept, fractions are dropped as SPDX requires. */
  created: string;
  /** Tool version for `creationInfo.creators`. */
  toolVersion?: string;
}

export interface SpdxPackage {
  SPDXID: string;
  name: string;
  versionInfo: string;
  downloadLocation: string;
  filesAnalyzed: false;
  licenseConcluded: string;
  licenseDeclared: string;
  copyrightText: string;
  supplier: string;
  sourceInfo?: string;
  /** Free text: the package's paths the image does not hold (BuildPackage.droppedPaths). */
  comment?: string;
  primaryPackagePurpose?: string;
  checksums?: { algorithm: 'SHA256'; checksumValue: string }[];
  externalRefs: {
    referenceCategory: 'PACKAGE-MANAGER';
    referenceType: 'purl';
    referenceLocator: string;
  }[];
}

export interface SpdxDocument {
  spdxVersion: 'SPDX-2.3';
  dataLicense: 'CC0-1.0';
  SPDXID: 'SPDXRef-DOCUMENT';
  name: string;
  documentNamespace: string;
  creationInfo: { created: string; creators: string[] };
  documentDescribes: string[];
  packages: SpdxPackage[];
  relationships: { spdxElementId: string; relationshipType: string; relatedSpdxElement: string }[];
}

const rootId = 'SPDXRef-Image';

/**
 * An SPDX 2.3 JSON document for an image: one root package for the image itself, one package per
 * BuildPackage with its purl, and CONTAINS relationships from the root. Deterministic: package
 * order and ids depend only on the input.
 */
export function spdxDocument(input: SpdxInput): SpdxDocument {
  const sorted = [...input.packages].sort(
    (a, b) => compare(a.purl, b.purl) || compare(a.name, b.name),
  );
  const used = new Set<string>([rootId]);
  const packages = sorted.map((p) =>
    packageOf(p, uniqueId(`SPDXRef-Package-${p.name}-${p.arch ?? ''}`, used)),
  );
  const root: SpdxPackage = {
    SPDXID: rootId,
    name: input.name,
    versionInfo: input.digest ?? 'NOASSERTION',
    downloadLocation: 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: 'NOASSERTION',
    copyrightText: 'NOASSERTION',
    supplier: 'NOASSERTION',
    primaryPackagePurpose: 'CONTAINER',
    ...(input.digest
      ? {
          checksums: [
            { algorithm: 'SHA256' as const, checksumValue: input.digest.replace(/^sha256:/, '') },
          ],
        }
      : {}),
    externalRefs: [],
  };
  return {
    spdxVersion: 'SPDX-2.3',
    dataLicense: 'CC0-1.0',
    SPDXID: 'SPDXRef-DOCUMENT',
    name: input.name,
    documentNamespace: input.namespace ?? defaultNamespace(input, sorted),
    creationInfo: {
      created: spdxTime(input.created),
      creators: [`Tool: kiln-${input.toolVersion ?? '0.1.0'}`],
    },
    documentDescribes: [rootId],
    packages: [root, ...packages],
    relationships: [
      {
        spdxElementId: 'SPDXRef-DOCUMENT',
        relationshipType: 'DESCRIBES',
        relatedSpdxElement: rootId,
      },
      ...packages.map((p) => ({
        spdxElementId: rootId,
        relationshipType: 'CONTAINS',
        relatedSpdxElement: p.SPDXID,
      })),
    ],
  };
}

function packageOf(p: BuildPackage, id: string): SpdxPackage {
  const license = p.license && isLicenseExpression(p.license) ? p.license : 'NOASSERTION';
  const hex = p.digest?.startsWith('sha256:') ? p.digest.slice('sha256:'.length) : undefined;
  return {
    SPDXID: id,
    name: p.name,
    versionInfo: p.version,
    downloadLocation: p.downloadLocation ?? 'NOASSERTION',
    filesAnalyzed: false,
    licenseConcluded: 'NOASSERTION',
    licenseDeclared: license,
    copyrightText: 'NOASSERTION',
    supplier: p.supplier ? `Organization: ${p.supplier.replace(/[\r\n]+/g, ' ')}` : 'NOASSERTION',
    // dpkg's `Source: name (version)`: the source version is not always the binary's (binNMUs).
    ...(p.sourcePackage
      ? {
          sourceInfo: `built from source package ${p.sourcePackage}${p.sourceVersion ? ` (${p.sourceVersion})` : ''}`,
        }
      : {}),
    ...(p.droppedPaths?.length
      ? {
          comment: `not in the image, removed by the recipe: ${p.droppedPaths.map((d) => `/${d}`).join(' ')}`,
        }
      : {}),
    ...(hex && /^[a-f0-9]{64}$/.test(hex)
      ? { checksums: [{ algorithm: 'SHA256' as const, checksumValue: hex }] }
      : {}),
    externalRefs: [
      { referenceCategory: 'PACKAGE-MANAGER', referenceType: 'purl', referenceLocator: p.purl },
    ],
  };
}

/** SPDX ids allow only letters, digits, `.` and `-`; collisions get a numeric suffix. */
function uniqueId(raw: string, used: Set<string>): string {
  const base = raw.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/-+$/, '');
  let id = base;
  for (let n = 2; used.has(id); n++) id = `${base}-${n}`;
  used.add(id);
  return id;
}

/**
 * Debian copyright files often hold free text, not an SPDX expression; only a syntactically
 * valid expression is declared, anything else becomes NOASSERTION rather than an invalid document.
 */
export function isLicenseExpression(value: string): boolean {
  const tokens = value.replace(/[()]/g, ' ').trim().split(/\s+/);
  if (tokens.length === 0) return false;
  let expectId = true;
  for (const token of tokens) {
    if (expectId) {
      if (!/^(LicenseRef-)?[A-Za-z0-9][A-Za-z0-9.-]*\+?$/.test(token)) return false;
    } else if (!['AND', 'OR', 'WITH'].includes(token)) return false;
    expectId = !expectId;
  }
  return !expectId && balanced(value);
}

function balanced(value: string): boolean {
  let depth = 0;
  for (const c of value) {
    if (c === '(') depth++;
    if (c === ')' && --depth < 0) return false;
  }
  return depth === 0;
}

/** SPDX wants `YYYY-MM-DDThh:mm:ssZ`, no fractional seconds. */
function spdxTime(value: string): string {
  const date = new Date(value);
  if (Number.isNaN(date.getTime()))
    throw new Error(`SBOM creation time is not a date: ${JSON.stringify(value)}`);
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function defaultNamespace(input: SpdxInput, packages: BuildPackage[]): string {
  const hash = createHash('sha256')
    .update(input.name)
    .update('\0')
    .update(input.digest ?? '')
    .update('\0')
    .update(packages.map((p) => p.purl).join('\n'))
    .digest('hex');
  const safeName = input.name.replace(/[^A-Za-z0-9._-]+/g, '-');
  return `https://spdx.org/spdxdocs/kiln/${safeName}-${uuidFromHex(hash)}`;
}

/** A UUID-shaped (version 5 style) string from a hash, so the namespace is stable. */
function uuidFromHex(hex: string): string {
  const h = hex.slice(0, 32).split('');
  h[12] = '5';
  h[16] = ((parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
