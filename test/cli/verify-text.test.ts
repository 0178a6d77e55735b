import { describe, expect, it } from 'vitest';
import { formatReport } from '../../src/cli/verify.ts';
import type { VerifyReport } from '../../src/sign/verify-report.ts';

/** `kiln verify`'s text: what a person reads of the report verifyImage returns. */
const report = (vex?: VerifyReport['vex']): VerifyReport => ({
  reference: `registry.invalid/kiln/static@sha256:${'b'.repeat(64)}`,
  digest: `sha256:${'b'.repeat(64)}`,
  signatures: 1,
  instances: [],
  attestations: [
    { predicateType: 'https://spdx.dev/Document', layer: 'sha256:1' },
    { predicateType: 'https://openvex.dev/ns/v0.2.0', layer: 'sha256:2' },
  ],
  sbom: { format: 'SPDX', version: 'SPDX-2.3', packages: 4 },
  provenance: { upstreamVersion: '20250101', buildType: undefined, builderId: undefined },
  ...(vex ? { vex } : {}),
  bundles: 0,
  ignored: [],
});

describe('kiln verify text', () => {
  it('says the OpenVEX attestation was checked, with its fixed and not_affected CVEs', () => {
    const text = formatReport(
      report({
        statements: 9,
        fixed: ['CVE-2026-1', 'CVE-2026-2', 'CVE-2026-3', 'CVE-2026-4', 'CVE-2026-5', 'CVE-2026-6'],
        notAffected: ['CVE-2025-9', 'CVE-2025-8', 'CVE-2025-7'],
      }),
    );
    expect(text).toContain(
      '  VEX: OpenVEX attestation checked, 9 statements: 6 fixed (CVE-2026-1, CVE-2026-2, CVE-2026-3, CVE-2026-4, CVE-2026-5 and 1 more), 3 not_affected (CVE-2025-9, CVE-2025-8, CVE-2025-7)\n',
    );
  });

  it('leaves not_affected out when there is none, and says when no VEX was attached', () => {
    expect(formatReport(report({ statements: 1, fixed: ['CVE-2026-7'], notAffected: [] }))).toMatch(
      /^ {2}VEX: OpenVEX attestation checked, 1 statement: 1 fixed \(CVE-2026-7\)$/m,
    );
    expect(formatReport(report())).toMatch(/^ {2}VEX: none attached /m);
  });
});
