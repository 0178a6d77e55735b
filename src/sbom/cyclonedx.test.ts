import { describe, expect, it } from 'vitest';
import { cyclonedxBom, validateCyclonedx } from './cyclonedx.ts';

const packages = [
  {
    name: 'libc6',
    version: '2.36-9',
    purl: 'pkg:deb/debian/libc6@2.36-9?arch=amd64',
    license: 'LGPL-2.1-or-later',
    digest: `sha256:${'c'.repeat(64)}`,
    supplier: 'Debian',
  },
  {
    name: 'tzdata',
    version: '2024a-0',
    purl: 'pkg:deb/debian/tzdata@2024a-0?arch=all',
    license: 'public domain, see copyright',
  },
];

describe('CycloneDX 1.6 BOM', () => {
  const json = cyclonedxBom({
    name: 'python',
    version: '3.12.7-r0',
    digest: `sha256:${'d'.repeat(64)}`,
    packages,
    created: '2025-01-02T03:04:05Z',
  });

  it('validates against the 1.6 schema with the CycloneDX library', async () => {
    const problems = await validateCyclonedx(json);
    expect(
      problems,
      'the validator needs ajv, ajv-formats and ajv-formats-draft2019',
    ).toBeDefined();
    expect(problems).toEqual([]);
  });

  it('lists each package with its purl and the image as the metadata component', () => {
    const bom = JSON.parse(json) as {
      specVersion: string;
      metadata: { component: { type: string } };
      components: { purl: string }[];
    };
    expect(bom.specVersion).toBe('1.6');
    expect(bom.metadata.component.type).toBe('container');
    expect(bom.components.map((c) => c.purl).sort()).toEqual(packages.map((p) => p.purl).sort());
  });

  it('the validator rejects a broken BOM', async () => {
    const broken = JSON.parse(json) as { components: { type: string }[] };
    broken.components[0]!.type = 'not-a-type';
    expect((await validateCyclonedx(JSON.stringify(broken)))?.length).toBeGreaterThan(0);
  });
});
