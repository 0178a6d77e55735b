import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { describeError } from '../errors.ts';
import { registryClientFor, resolveImageReference } from '../oci/registry-from-config.ts';
import { loadPublicKey } from '../sign/keys.ts';
import { verifyImage, type VerifyReport } from '../sign/verify.ts';
import { CliExit, cliContext, ExitCode } from './context.ts';

interface VerifyFlags {
  key: string;
  json?: boolean;
}

export function registerVerify(program: Command): void {
  program
    .command('verify')
    .argument('<image-ref>', 'image reference, by tag or digest')
    .requiredOption('--key <pub.pem>', 'public key (PEM)')
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
  return verifyImage(client, reference, publicKey);
}

export function formatReport(r: VerifyReport): string {
  const lines = [
    `Verified ${r.reference}`,
    `  signature: ${r.signatures} valid cosign signature${r.signatures === 1 ? '' : 's'}`,
    `  attestations: ${r.attestations.length} valid (${[...new Set(r.attestations.map((a) => a.predicateType))].join(', ')})`,
    `  SBOM: ${r.sbom.packages} packages (${r.sbom.version})${r.cyclonedx ? `; CycloneDX: ${r.cyclonedx.components} components` : ''}`,
    `  provenance: upstream version ${r.provenance.upstreamVersion ?? 'unknown'}${r.provenance.builderId ? `, builder ${r.provenance.builderId}` : ''}`,
    `  Sigstore bundles: ${r.bundles} valid`,
  ];
  return `${lines.join('\n')}\n`;
}
