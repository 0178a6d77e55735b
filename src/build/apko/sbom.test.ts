import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../errors.ts';
import { packagesFromSpdx } from './sbom.ts';

describe('packages from an apko SPDX SBOM', () => {
  it('keeps the APK packages with purl, version, license and checksum', () => {
    const document = {
      spdxVersion: 'SPDX-2.3',
      packages: [
        {
          name: 'sha256:abc',
          versionInfo: 'sha256:abc',
          externalRefs: [
            {
              referenceCategory: 'PACKAGE-MANAGER',
              referenceType: 'purl',
              referenceLocator: 'pkg:oci/image@sha256:abc',
            },
          ],
        },
        {
          name: 'zlib',
          versionInfo: '1.3.1-r0',
          licenseDeclared: 'Zlib',
          supplier: 'Organization: Example',
          checksums: [{ algorithm: 'SHA256', checksumValue: 'f'.repeat(64) }],
          externalRefs: [
            {
              referenceCategory: 'PACKAGE-MANAGER',
              referenceType: 'purl',
              referenceLocator: 'pkg:apk/example/zlib@1.3.1-r0?arch=x86_64',
            },
          ],
        },
        {
          name: 'ca-certificates-bundle',
          versionInfo: '20240705-r0',
          licenseDeclared: 'NOASSERTION',
          licenseConcluded: 'MPL-2.0 AND MIT',
          externalRefs: [
            {
              referenceCategory: 'PACKAGE-MANAGER',
              referenceType: 'purl',
              referenceLocator: 'pkg:apk/example/ca-certificates-bundle@20240705-r0?arch=x86_64',
            },
          ],
        },
      ],
    };
    expect(packagesFromSpdx(document, 'amd64')).toEqual([
      {
        name: 'ca-certificates-bundle',
        version: '20240705-r0',
        purl: 'pkg:apk/example/ca-certificates-bundle@20240705-r0?arch=x86_64',
        arch: 'amd64',
        license: 'MPL-2.0 AND MIT',
      },
      {
        name: 'zlib',
        version: '1.3.1-r0',
        purl: 'pkg:apk/example/zlib@1.3.1-r0?arch=x86_64',
        arch: 'amd64',
        license: 'Zlib',
        digest: `sha256:${'f'.repeat(64)}`,
        supplier: 'Organization: Example',
      },
    ]);
  });

  it('refuses something that is not SPDX', () => {
    expect(() => packagesFromSpdx({ bomFormat: 'CycloneDX' }, 'amd64')).toThrow(PermanentError);
  });
});
