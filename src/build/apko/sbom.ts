import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { PermanentError } from '../../errors.ts';
import type { BuildPackage } from '../../model/build-result.ts';

/*
 * apko writes an SPDX 2.3 JSON SBOM per arch. kiln reads the APK packages out of it (their
 * purls, versions, licenses, checksums) into the build's package list, from which publish makes
 * kiln's own SPDX attestation: one SBOM format for consumers, whichever builder made the image.
 */

const spdxPackage = z.object({
  name: z.string(),
  versionInfo: z.string().optional(),
  licenseDeclared: z.string().optional(),
  licenseConcluded: z.string().optional(),
  supplier: z.string().optional(),
  downloadLocation: z.string().optional(),
  checksums: z.array(z.object({ algorithm: z.string(), checksumValue: z.string() })).optional(),
  externalRefs: z
    .array(z.object({ referenceType: z.string(), referenceLocator: z.string() }))
    .optional(),
});
const spdxDocument = z.object({
  spdxVersion: z.string().startsWith('SPDX-'),
  packages: z.array(spdxPackage).default([]),
});

const noAssertion = (v: string | undefined) =>
  v && v !== 'NOASSERTION' && v !== 'NONE' ? v : undefined;

/** The APK packages an apko SPDX SBOM lists, as kiln's package records. */
export function packagesFromSpdx(document: unknown, arch: string): BuildPackage[] {
  const parsed = spdxDocument.safeParse(document);
  if (!parsed.success)
    throw new PermanentError(`apko's SBOM for ${arch} is not an SPDX JSON document`);
  const out: BuildPackage[] = [];
  for (const p of parsed.data.packages) {
    const purl = p.externalRefs?.find(
      (r) => r.referenceType === 'purl' && r.referenceLocator.startsWith('pkg:apk/'),
    )?.referenceLocator;
    if (!purl) continue;
    const sha256 = p.checksums?.find((c) => c.algorithm.toUpperCase() === 'SHA256')?.checksumValue;
    out.push({
      name: p.name,
      version: p.versionInfo ?? '',
      purl,
      arch,
      ...((noAssertion(p.licenseDeclared) ?? noAssertion(p.licenseConcluded))
        ? { license: noAssertion(p.licenseDeclared) ?? noAssertion(p.licenseConcluded) }
        : {}),
      ...(sha256 ? { digest: `sha256:${sha256}` } : {}),
      ...(noAssertion(p.supplier) ? { supplier: noAssertion(p.supplier) } : {}),
      ...(noAssertion(p.downloadLocation)
        ? { downloadLocation: noAssertion(p.downloadLocation) }
        : {}),
    });
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

export async function readSpdxPackages(file: string, arch: string): Promise<BuildPackage[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (cause) {
    throw new PermanentError(`apko wrote no SBOM for ${arch} at ${file}`, { cause });
  }
  return packagesFromSpdx(JSON.parse(text), arch);
}
