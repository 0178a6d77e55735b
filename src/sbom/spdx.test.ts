import { Ajv } from 'ajv';
import addFormatsModule from 'ajv-formats';
import { describe, expect, it } from 'vitest';
import type { BuildPackage } from '../model/build-result.ts';
import { isLicenseExpression, spdxDocument, type SpdxDocument } from './spdx.ts';

/*
 * A validation schema written for these tests from the SPDX 2.3 specification's requirements
 * (chapters 6 "Document creation information", 7 "Package information", 11 "Relationships"
 * and Annex on JSON serialisation), not copied from the published schema file.
 */
const idPattern = '^SPDXRef-[A-Za-z0-9.-]+$';
const noassertion = ['NONE', 'NOASSERTION'];
const spdx23Schema = {
  type: 'object',
  required: ['spdxVersion', 'dataLicense', 'SPDXID', 'name', 'documentNamespace', 'creationInfo'],
  properties: {
    // 6.1: "SPDX-M.N"; 6.2: the data license is always CC0-1.0; 6.3: the document's id is fixed.
    spdxVersion: { const: 'SPDX-2.3' },
    dataLicense: { const: 'CC0-1.0' },
    SPDXID: { const: 'SPDXRef-DOCUMENT' },
    name: { type: 'string', minLength: 1 },
    // 6.5: a unique absolute URI without a "#" part.
    documentNamespace: { type: 'string', format: 'uri', pattern: '^[^#]+$' },
    creationInfo: {
      type: 'object',
      required: ['created', 'creators'],
      properties: {
        // 6.9: YYYY-MM-DDThh:mm:ssZ, UTC, no fractions.
        created: { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}Z$' },
        // 6.8: at least one creator, "Person: …", "Organization: …" or "Tool: …".
        creators: {
          type: 'array',
          minItems: 1,
          items: { type: 'string', pattern: '^(Person|Organization|Tool): .+' },
        },
      },
    },
    documentDescribes: { type: 'array', items: { type: 'string', pattern: idPattern } },
    packages: {
      type: 'array',
      items: {
        type: 'object',
        // 7.1 name, 7.2 SPDXID and 7.7 download location are mandatory.
        required: ['name', 'SPDXID', 'downloadLocation'],
        properties: {
          name: { type: 'string', minLength: 1 },
          SPDXID: { type: 'string', pattern: idPattern },
          versionInfo: { type: 'string' },
          downloadLocation: {
            anyOf: [{ enum: noassertion }, { type: 'string', pattern: '^[a-z+]+:' }],
          },
          filesAnalyzed: { type: 'boolean' },
          // 7.13/7.15: a license expression, NONE or NOASSERTION.
          licenseConcluded: { type: 'string', minLength: 1 },
          licenseDeclared: { type: 'string', minLength: 1 },
          copyrightText: { type: 'string' },
          // 7.5: "Person: …", "Organization: …" or NOASSERTION.
          supplier: { type: 'string', pattern: '^(NOASSERTION|(Person|Organization): .+)$' },
          // 7.24: the purpose enumeration.
          primaryPackagePurpose: {
            enum: [
              'APPLICATION',
              'FRAMEWORK',
              'LIBRARY',
              'CONTAINER',
              'OPERATING-SYSTEM',
              'DEVICE',
              'FIRMWARE',
              'SOURCE',
              'ARCHIVE',
              'FILE',
              'INSTALL',
              'OTHER',
            ],
          },
          // 7.10: algorithm and lower-case hex value.
          checksums: {
            type: 'array',
            items: {
              type: 'object',
              required: ['algorithm', 'checksumValue'],
              properties: {
                algorithm: {
                  enum: [
                    'SHA1',
                    'SHA224',
                    'SHA256',
                    'SHA384',
                    'SHA512',
                    'SHA3-256',
                    'SHA3-384',
                    'SHA3-512',
                    'BLAKE2b-256',
                    'BLAKE2b-384',
                    'BLAKE2b-512',
                    'BLAKE3',
                    'MD2',
                    'MD4',
                    'MD5',
                    'MD6',
                    'ADLER32',
                  ],
                },
                checksumValue: { type: 'string', pattern: '^[a-f0-9]+$' },
              },
            },
          },
          // 7.21: category, type and locator all required.
          externalRefs: {
            type: 'array',
            items: {
              type: 'object',
              required: ['referenceCategory', 'referenceType', 'referenceLocator'],
              properties: {
                referenceCategory: {
                  enum: [
                    'SECURITY',
                    'PACKAGE-MANAGER',
                    'PACKAGE_MANAGER',
                    'PERSISTENT-ID',
                    'PERSISTENT_ID',
                    'OTHER',
                  ],
                },
                referenceType: { type: 'string', minLength: 1 },
                referenceLocator: { type: 'string', pattern: '^\\S+$' },
              },
            },
          },
        },
        // 7.9: a package whose files were not analysed has no verification code.
        if: { properties: { filesAnalyzed: { const: false } }, required: ['filesAnalyzed'] },
        then: { not: { required: ['packageVerificationCode'] } },
      },
    },
    relationships: {
      type: 'array',
      items: {
        type: 'object',
        required: ['spdxElementId', 'relationshipType', 'relatedSpdxElement'],
        properties: {
          spdxElementId: { type: 'string', pattern: idPattern },
          relatedSpdxElement: {
            anyOf: [{ enum: noassertion }, { type: 'string', pattern: idPattern }],
          },
          relationshipType: {
            enum: [
              'DESCRIBES',
              'DESCRIBED_BY',
              'CONTAINS',
              'CONTAINED_BY',
              'DEPENDS_ON',
              'DEPENDENCY_OF',
              'GENERATED_FROM',
              'GENERATES',
              'PACKAGE_OF',
              'OTHER',
            ],
          },
        },
      },
    },
  },
} as const;

// ajv-formats is CommonJS: under NodeNext its plugin is the default export's `default`.
const addFormats = addFormatsModule.default;

function validator() {
  const ajv = new Ajv({ allErrors: true, strict: false });
  addFormats(ajv);
  return ajv.compile(spdx23Schema);
}

/** Checks the schema cannot express: ids unique, every reference resolves, purls well formed. */
function semanticProblems(doc: SpdxDocument): string[] {
  const problems: string[] = [];
  const ids = new Set<string>(['SPDXRef-DOCUMENT']);
  for (const p of doc.packages) {
    if (ids.has(p.SPDXID)) problems.push(`duplicate id ${p.SPDXID}`);
    ids.add(p.SPDXID);
    for (const ref of p.externalRefs) {
      if (ref.referenceType === 'purl' && !/^pkg:[a-z]+\/.+@.+/.test(ref.referenceLocator))
        problems.push(`bad purl ${ref.referenceLocator}`);
    }
    for (const license of [p.licenseConcluded, p.licenseDeclared]) {
      if (license !== 'NOASSERTION' && license !== 'NONE' && !isLicenseExpression(license))
        problems.push(`bad license ${license}`);
    }
  }
  for (const r of doc.relationships) {
    if (!ids.has(r.spdxElementId) || !ids.has(r.relatedSpdxElement))
      problems.push(`dangling relationship ${JSON.stringify(r)}`);
  }
  for (const d of doc.documentDescribes)
    if (!ids.has(d)) problems.push(`documentDescribes ${d} missing`);
  return problems;
}

const packages: BuildPackage[] = [
  {
    name: 'libc6',
    version: '2.36-9+deb12u7',
    purl: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64',
    arch: 'amd64',
    license: 'LGPL-2.1-or-later',
    digest: `sha256:${'a'.repeat(64)}`,
    sourcePackage: 'glibc',
    supplier: 'Debian',
  },
  {
    name: 'libc6',
    version: '2.36-9+deb12u7',
    purl: 'pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=arm64',
    arch: 'arm64',
    license: 'see /usr/share/doc/libc6/copyright',
  },
  {
    name: 'python3.11',
    version: '3.11.2-6',
    purl: 'pkg:deb/debian/python3.11@3.11.2-6?arch=amd64',
    arch: 'amd64',
    license: '(MIT OR Apache-2.0) AND BSD-3-Clause',
    downloadLocation: 'https://example.org/pool/python3.11.deb',
  },
  { name: 'weird name/with:chars', version: '1', purl: 'pkg:npm/weird@1' },
];

describe('SPDX 2.3 document', () => {
  const doc = spdxDocument({
    name: 'python-3.11.2-r0',
    digest: `sha256:${'b'.repeat(64)}`,
    packages,
    created: '2025-03-01T10:20:30.456Z',
  });

  it('meets every requirement of the SPDX 2.3 JSON schema written from the spec', () => {
    const validate = validator();
    const ok = validate(doc);
    expect(validate.errors ?? []).toEqual([]);
    expect(ok).toBe(true);
    expect(semanticProblems(doc)).toEqual([]);
  });

  it('the schema catches what the spec forbids', () => {
    const validate = validator();
    expect(validate({ ...doc, spdxVersion: 'SPDX-2.2' })).toBe(false);
    expect(validate({ ...doc, documentNamespace: 'https://x/y#z' })).toBe(false);
    expect(
      validate({
        ...doc,
        creationInfo: { created: '2025-03-01T10:20:30.456Z', creators: ['Tool: kiln'] },
      }),
    ).toBe(false);
    expect(validate({ ...doc, packages: [{ ...doc.packages[0], SPDXID: 'Package_1' }] })).toBe(
      false,
    );
  });

  it('lists every package with its purl, drops fractions from the time, keeps only valid license expressions', () => {
    expect(doc.creationInfo.created).toBe('2025-03-01T10:20:30Z');
    expect(doc.packages).toHaveLength(packages.length + 1);
    const purls = doc.packages.flatMap((p) => p.externalRefs.map((r) => r.referenceLocator));
    expect(purls.sort()).toEqual(packages.map((p) => p.purl).sort());
    const byPurl = new Map(doc.packages.map((p) => [p.externalRefs[0]?.referenceLocator, p]));
    expect(byPurl.get(packages[1]!.purl)?.licenseDeclared).toBe('NOASSERTION');
    expect(byPurl.get(packages[2]!.purl)?.licenseDeclared).toBe(
      '(MIT OR Apache-2.0) AND BSD-3-Clause',
    );
    expect(byPurl.get(packages[0]!.purl)?.checksums?.[0]?.checksumValue).toBe('a'.repeat(64));
  });

  it('is deterministic: same input, same bytes, whatever the package order', () => {
    const again = spdxDocument({
      name: 'python-3.11.2-r0',
      digest: `sha256:${'b'.repeat(64)}`,
      packages: [...packages].reverse(),
      created: '2025-03-01T10:20:30.456Z',
    });
    expect(JSON.stringify(again)).toBe(JSON.stringify(doc));
  });
});
