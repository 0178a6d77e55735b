import { createHash } from 'node:crypto';
import * as CDX from '@cyclonedx/cyclonedx-library';
import type { BuildPackage } from '../model/build-result.ts';
import { isLicenseExpression } from './spdx.ts';

export interface CyclonedxInput {
  /** The image's name, e.g. `python`. */
  name: string;
  /** The image version, e.g. `3.12.7-r0`. */
  version: string;
  /** `sha256:…` of the image index. */
  digest?: string;
  packages: BuildPackage[];
  /** RFC 3339 time; fixed by the caller so the same image always gives the same BOM. */
  created: string;
  toolVersion?: string;
}

const spec = CDX.Spec.Spec1dot6;

/**
 * A CycloneDX 1.6 JSON BOM for an image, built with the OWASP CycloneDX library: the image as
 * the metadata component, one library component per package with its purl and hash. Lists are
 * sorted and the serial number derives from the content, so equal inputs give equal bytes.
 */
export function cyclonedxBom(input: CyclonedxInput): string {
  const bom = new CDX.Models.Bom();
  bom.serialNumber = `urn:uuid:${uuidOf(input)}`;
  bom.metadata.timestamp = new Date(input.created);
  bom.metadata.tools.components.add(
    new CDX.Models.Component(CDX.Enums.ComponentType.Application, 'kiln', {
      version: input.toolVersion ?? '0.1.0',
    }),
  );
  const root = new CDX.Models.Component(CDX.Enums.ComponentType.Container, input.name, {
    version: input.version,
    bomRef: 'image',
  });
  if (input.digest)
    root.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], input.digest.replace(/^sha256:/, ''));
  bom.metadata.component = root;
  const refs = new Set<string>();
  for (const p of input.packages) {
    let ref = p.purl;
    for (let n = 2; refs.has(ref); n++) ref = `${p.purl}#${n}`;
    refs.add(ref);
    const component = new CDX.Models.Component(CDX.Enums.ComponentType.Library, p.name, {
      version: p.version,
      purl: p.purl,
      bomRef: ref,
    });
    if (p.license && isLicenseExpression(p.license))
      component.licenses.add(new CDX.Models.LicenseExpression(p.license));
    if (p.digest?.startsWith('sha256:'))
      component.hashes.set(CDX.Enums.HashAlgorithm['SHA-256'], p.digest.slice(7));
    if (p.supplier) component.supplier = new CDX.Models.OrganizationalEntity({ name: p.supplier });
    bom.components.add(component);
    root.dependencies.add(component.bomRef);
  }
  const serializer = new CDX.Serialize.JsonSerializer(
    new CDX.Serialize.JSON.Normalize.Factory(spec),
  );
  return serializer.serialize(bom, { sortLists: true });
}

/**
 * Validates a CycloneDX 1.6 JSON document against the specification's schema bundled with the
 * library. Returns the problems, `[]` when valid, or undefined when the validator's optional
 * dependencies (ajv) are not installed.
 */
export async function validateCyclonedx(json: string): Promise<string[] | undefined> {
  const validator = new CDX.Validation.JsonStrictValidator(spec.version);
  try {
    const errors = await validator.validate(json);
    if (errors === null) return [];
    return Array.isArray(errors)
      ? errors.map((e: unknown) => JSON.stringify(e))
      : [JSON.stringify(errors)];
  } catch (error) {
    if (error instanceof CDX.Validation.MissingOptionalDependencyError) return undefined;
    throw error;
  }
}

function uuidOf(input: CyclonedxInput): string {
  const h = createHash('sha256')
    .update(`${input.name}\0${input.version}\0${input.digest ?? ''}\0`)
    .update(input.packages.map((p) => p.purl).join('\n'))
    .digest('hex')
    .split('');
  h[12] = '5';
  h[16] = ((parseInt(h[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  const s = h.join('');
  return `${s.slice(0, 8)}-${s.slice(8, 12)}-${s.slice(12, 16)}-${s.slice(16, 20)}-${s.slice(20, 32)}`;
}
