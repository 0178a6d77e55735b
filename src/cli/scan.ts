import { readFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { describeError, PermanentError } from '../errors.ts';
import { formatBytes } from '../oci/limits.ts';
import { loadPublicKey } from '../sign/keys.ts';
import { parseUrgency, urgencyRank, type Urgency } from '../vuln/model.ts';
import { scanImage, type ScanReport } from '../vuln/scan.ts';
import { CliExit, cliContext, ExitCode } from './context.ts';
import { paint, printResult, renderTable, type ColorName } from './table.ts';

interface ScanFlags {
  json?: boolean;
  failOn?: string;
  release?: string;
  arch?: string;
  key?: string;
}

export function registerScan(program: Command): void {
  program
    .command('scan')
    .argument('<image>', 'an OCI layout folder (or oci:DIR), or an image reference')
    .option('--json', 'print JSON')
    .option(
      '--fail-on <urgency>',
      'exit 1 when an open CVE is this urgent or more (low, medium, high…)',
    )
    .option('--release <codename>', 'the Debian release, when the image does not name it')
    .option('--arch <arch>', 'the platform to scan in a multi-arch image')
    .option('--key <pub.pem>', "verify a registry image's SBOM attestation with this key")
    .description(
      "CVEs of an image's Debian packages from the vulnerability feed: fixable vs unfixed",
    )
    .action(async (target: string, flags: ScanFlags) => {
      const threshold = flags.failOn === undefined ? undefined : thresholdOf(flags.failOn);
      const { config } = cliContext({ interactive: true });
      if (!config.vulnFeed)
        throw new CliExit(
          'kiln scan: no vulnerability feed; set KILN_VULN_FEED to the Debian Security Tracker JSON (a URL or a file) or OSV records',
          ExitCode.usage,
        );
      const publicKey = flags.key ? loadPublicKey(await readKey(flags.key), flags.key) : undefined;
      const report = await scanImage({
        target,
        config,
        ...(flags.release ? { release: flags.release } : {}),
        ...(flags.arch ? { arch: flags.arch } : {}),
        ...(publicKey ? { publicKey } : {}),
      }).catch((error: unknown) => {
        throw new CliExit(`kiln scan: ${describeError(error)}`, ExitCode.failure);
      });
      printResult(report, { json: flags.json, human: formatScan });
      if (
        threshold &&
        report.findings.some((f) => urgencyRank(f.urgency) >= urgencyRank(threshold))
      )
        process.exitCode = ExitCode.failure;
    });
}

function thresholdOf(value: string): Urgency {
  const u = parseUrgency(value.replace(/-/g, ' '));
  if (!u || value === '')
    throw new CliExit(
      `kiln scan: --fail-on ${value}: expected unimportant, low, medium, high, not-yet-assigned or end-of-life`,
      ExitCode.usage,
    );
  return u;
}

async function readKey(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (cause) {
    throw new PermanentError(`cannot read public key ${file}`, { cause });
  }
}

const urgencyColor = (u: Urgency): ColorName | undefined =>
  u === 'high' ? 'red' : u === 'medium' ? 'yellow' : u === 'unimportant' ? 'gray' : undefined;

/** The human report: what was scanned, the counts, one line per open CVE, refused feed entries. */
export function formatScan(r: ScanReport, color: boolean): string {
  const counts = Object.entries(r.summary.byUrgency)
    .map(([u, n]) => `${n} ${u}`)
    .join(', ');
  const lines = [
    `${r.image} (${r.release}, ${formatBytes(r.size)}, ${r.packages} packages from ${r.sourcePackages} sources, read from ${r.from === 'spdx' ? 'its SPDX attestation' : 'dpkg status'})`,
    `feed: ${r.feed.location} (${r.feed.format}${r.feed.fetch ? `, ${r.feed.fetch.outcome}` : ''})`,
    `open CVEs: ${r.summary.total}${counts ? ` (${counts})` : ''}; fixable: ${r.summary.fixable}`,
  ];
  let out = `${lines.join('\n')}\n`;
  if (r.findings.length > 0) {
    out += `\n${renderTable(
      r.findings,
      [
        { header: 'CVE', value: (f) => f.cve },
        { header: 'SOURCE', value: (f) => `${f.source} ${f.sourceVersion}` },
        { header: 'URGENCY', value: (f) => f.urgency, color: (f) => urgencyColor(f.urgency) },
        {
          header: 'STATE',
          value: (f) => f.state,
          color: (f) => (f.state === 'fixable' ? 'green' : undefined),
        },
        {
          header: 'FIXED IN',
          value: (f) =>
            f.fixedVersion ? `${f.fixedVersion}${f.suite ? ` (${f.suite})` : ''}` : '',
        },
        { header: 'PACKAGES', value: (f) => f.packages.join(' ') },
      ],
      { color, maxWidth: process.stdout.columns },
    )}`;
  }
  if (r.feed.refused > 0) {
    out += `\n${paint(`${r.feed.refused} feed entries refused`, 'yellow', color)}:\n`;
    out += r.feed.refusals.map((x) => `  ${x.where}: ${x.reason}\n`).join('');
  }
  const absent = r.notAffected.filter((n) => n.reason.kind === 'binaries-absent');
  for (const n of absent)
    out += `not affected: ${n.cve} (${n.source} ${n.sourceVersion}: only in ${n.reason.kind === 'binaries-absent' ? n.reason.affected.join(', ') : ''}, not in the image)\n`;
  if (r.feed.fetch?.warning)
    out += `${paint('warning', 'yellow', color)}: ${r.feed.fetch.warning}\n`;
  for (const w of r.warnings) out += `${paint('warning', 'yellow', color)}: ${w}\n`;
  return out;
}
