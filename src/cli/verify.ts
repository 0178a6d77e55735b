import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { describeError } from '../errors.ts';
import { registryClientFor, resolveImageReference } from '../oci/registry-from-config.ts';
import { loadPublicKey } from '../sign/keys.ts';
import { verifyImage, type IgnoredSignature, type VerifyReport } from '../sign/verify.ts';
import type { VexReport } from '../sign/verify-report.ts';
import { vexSummary } from '../sign/verify-summary.ts';
import { CliExit, cliContext, ExitCode } from './context.ts';

interface VerifyFlags {
  key: string;
  json?: boolean;
  repositoryMatch?: boolean;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .argument('<image-ref>', 'image reference, by tag or digest')
    .requiredOption('--key <pub.pem>', 'public key (PEM)')
    .option(
      '--repository-match',
      "reject a signature whose payload's docker-reference names another repository",
    )
    .option('--json', 'print JSON')
    .description('check the signature, attestations and SBOM of a published image')
    .action(async (ref: string, flags: VerifyFlags) => {
      const { config } = cliContext();
      const report = await runVerify(ref, flags, config).catch((error: unknown) => {
        const reason = describeError(error);
        if (flags.json) process.stdout.write(`${JSON.stringify({ verified: false, reason })}\n`);
        throw new CliExit(`kiln verify: ${reason}`, ExitCode.failure);
      });
      process.stdout.write(
        flags.json
          ? `${JSON.stringify({ verified: true, ...report }, null, 2)}\n`
          : formatReport(report),
      );
    });
}

async function runVerify(
  ref: string,
  flags: VerifyFlags,
  config: ReturnType<typeof cliContext>['config'],
): Promise<VerifyReport> {
  let pem: string;
  try {
    pem = await readFile(flags.key, 'utf8');
  } catch {
    throw new CliExit(`cannot read public key ${flags.key}`, ExitCode.failure);
  }
  const publicKey = loadPublicKey(pem, flags.key);
  const reference = resolveImageReference(ref, config.registry);
  const client = await registryClientFor(reference.host, config);
  return verifyImage(client, reference, publicKey, {
    repositoryMatch: flags.repositoryMatch === true,
  });
}

export function formatReport(r: VerifyReport): string {
  const lines = [
    `Verified ${r.reference}`,
    `  signature: ${r.signatures} valid cosign signature${r.signatures === 1 ? '' : 's'}`,
    ...(r.instances.length > 0
      ? [
          `  arch manifests: ${r.instances.length} signed (${r.instances.map((i) => i.platform ?? i.digest).join(', ')})`,
        ]
      : []),
    `  attestations: ${r.attestations.length} valid (${[...new Set(r.attestations.map((a) => a.predicateType))].join(', ')})`,
    `  SBOM: ${r.sbom.packages} packages (${r.sbom.version})${r.cyclonedx ? `; CycloneDX: ${r.cyclonedx.components} components` : ''}`,
    `  provenance: upstream version ${r.provenance.upstreamVersion ?? 'unknown'}${r.provenance.builderId ? `, builder ${r.provenance.builderId}` : ''}`,
    vexLine(r.vex),
    `  Sigstore bundles: ${r.bundles} valid`,
  ];
  const others = r.ignored.filter((i) => i.otherSigner);
  if (others.length > 0)
    lines.push(`  other signers (ignored): ${countByKind(others)} not signed by this key`);
  for (const i of r.ignored.filter((x) => !x.otherSigner))
    lines.push(`  ignored ${i.kind} ${i.digest}: ${i.reason}`);
  return `${lines.join('\n')}\n`;
}

/** `CVE-1, CVE-2, CVE-3 and 2 more`: the first few of a list, for one line. */
/** The OpenVEX line of the report (src/sign/verify-summary.ts words it for `kiln up --once` too). */
export function vexLine(vex: VexReport | undefined): string {
  return `  VEX: ${vexSummary(vex)}`;
}

/** `1 signature, 2 attestations`: the ignored entries of each kind. */
function countByKind(entries: IgnoredSignature[]): string {
  const kinds = [
    ['signature', 'signature', 'signatures'],
    ['attestation', 'attestation', 'attestations'],
    ['bundle', 'Sigstore bundle', 'Sigstore bundles'],
  ] as const;
  return kinds
    .map(([kind, one, many]) => {
      const n = entries.filter((e) => e.kind === kind).length;
      return n === 0 ? '' : `${n} ${n === 1 ? one : many}`;
    })
    .filter((text) => text !== '')
    .join(', ');
}
