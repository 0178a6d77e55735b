import type { Command } from 'commander';
import { describeError } from '../errors.ts';
import type { ArchDiff, ImageDiff } from '../image-diff/compare.ts';
import { diffImages } from '../image-diff/diff-images.ts';
import { CliExit, cliContext, ExitCode } from './context.ts';
import { paint, printResult, renderTable } from './table.ts';

interface DiffFlags {
  json?: boolean;
}

export function registerDiff(program: Command): void {
  program
    .command('diff')
    .argument('<ref-a>', 'the first image: a registry reference, or an OCI layout (oci:DIR)')
    .argument('<ref-b>', 'the second image, in the same forms')
    .option('--json', 'print JSON')
    .description('what changed between two images: packages, layers, bytes')
    .action(async (a: string, b: string, flags: DiffFlags) => {
      const { config } = cliContext({ interactive: true });
      const diff = await diffImages({ a, b, config }).catch((error: unknown) => {
        throw new CliExit(`kiln diff: ${describeError(error)}`, ExitCode.failure);
      });
      printResult(diff, { json: flags.json, human: formatDiff });
    });
}

/** `1.5 KiB`, `+12.0 MiB`: sizes as a person compares them. */
export function humanBytes(n: number, signed = false): string {
  const sign = n < 0 ? '-' : signed && n > 0 ? '+' : '';
  let v = Math.abs(n);
  if (v < 1024) return `${sign}${v} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let unit = -1;
  while (v >= 1024 && unit < units.length - 1) {
    v /= 1024;
    unit++;
  }
  return `${sign}${v.toFixed(1)} ${units[unit]}`;
}

const short = (digest: string): string => digest.replace(/^sha256:/, '').slice(0, 12);

/** The human report: both images, the package changes, one line per arch with its layers. */
export function formatDiff(d: ImageDiff, color: boolean): string {
  const from = (s: ImageDiff['a']) =>
    `${s.packages} packages from ${s.packagesFrom === 'spdx' ? 'its SPDX attestation' : 'dpkg status'}`;
  const archs = (list: string[]) => (list.length > 0 ? ` (${list.join(', ')})` : '');
  const p = d.packages;
  let out = `a: ${d.a.image} (${d.a.archs.join(', ')}; ${from(d.a)})\n`;
  out += `b: ${d.b.image} (${d.b.archs.join(', ')}; ${from(d.b)})\n`;
  if (d.identical) return `${out}identical\n`;
  out += `\npackages: ${p.added.length} added, ${p.removed.length} removed, ${p.changed.length} changed, ${p.unchanged} unchanged\n`;
  for (const x of p.added)
    out += `  ${paint('+', 'green', color)} ${x.name} ${x.version}${archs(x.archs)}\n`;
  for (const x of p.removed)
    out += `  ${paint('-', 'red', color)} ${x.name} ${x.version}${archs(x.archs)}\n`;
  for (const x of p.changed)
    out += `  ${paint('~', 'yellow', color)} ${x.name} ${x.from} → ${x.to}${archs(x.archs)}\n`;
  out += `\nlayers (compressed sizes):\n`;
  out += renderTable<ArchDiff>(
    d.archs,
    [
      { header: 'ARCH', value: (x) => x.arch },
      { header: 'A', value: (x) => (x.a ? `${x.a.layers} · ${humanBytes(x.a.bytes)}` : '—') },
      { header: 'B', value: (x) => (x.b ? `${x.b.layers} · ${humanBytes(x.b.bytes)}` : '—') },
      { header: 'SHARED', value: (x) => x.layers.shared, align: 'right' },
      { header: 'ADDED', value: (x) => x.layers.added.length, align: 'right' },
      { header: 'REMOVED', value: (x) => x.layers.removed.length, align: 'right' },
      { header: 'CHANGE', value: (x) => humanBytes(x.bytesDelta, true), align: 'right' },
      { header: 'TO PULL', value: (x) => humanBytes(x.bytesToPull), align: 'right' },
    ],
    { color },
  );
  for (const x of d.archs) {
    for (const l of x.layers.added)
      out += `  ${x.arch} ${paint('+', 'green', color)} ${short(l.digest)} ${humanBytes(l.size)}\n`;
    for (const l of x.layers.removed)
      out += `  ${x.arch} ${paint('-', 'red', color)} ${short(l.digest)} ${humanBytes(l.size)}\n`;
  }
  return out;
}
