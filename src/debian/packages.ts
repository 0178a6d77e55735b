import { parseControl, type Paragraph } from './control.ts';
import { parseDependencies, type Dependency, type Relation } from './relations.ts';

/** One binary package as a Packages index describes it. */
export interface PackageRecord {
  name: string;
  version: string;
  /** The package's architecture: a Debian arch or `all`. */
  arch: string;
  multiArch: 'same' | 'foreign' | 'allowed' | 'no';
  essential: boolean;
  priority: string | undefined;
  source: string;
  sourceVersion: string;
  preDepends: Dependency[];
  depends: Dependency[];
  provides: Relation[];
  /** Path under the mirror root, e.g. `pool/main/b/base-files/base-files_12.4_amd64.deb`. */
  filename: string;
  size: number;
  sha256: string;
  /** Which suite's index listed it, and that suite's mirror root URL. */
  suite: string;
  mirror: string;
  /** The raw paragraph: written to /var/lib/dpkg/status.d for scanners. */
  paragraph: Paragraph;
}

/** `Source: name (version)` or `Source: name` or absent (then it is the package itself). */
function sourceOf(p: Paragraph, name: string, version: string): { source: string; sourceVersion: string } {
  const raw = p.get('source');
  if (!raw) return { source: name, sourceVersion: version };
  const m = /^(\S+)(?:\s+\((\S+)\))?$/.exec(raw.trim());
  return { source: m?.[1] ?? name, sourceVersion: m?.[2] ?? version };
}

/** Parses a Packages index. Entries without a SHA256 or filename are refused: nothing unverified. */
export function parsePackages(text: string, origin: { suite: string; mirror: string; indexName: string }): PackageRecord[] {
  const out: PackageRecord[] = [];
  for (const p of parseControl(text)) {
    const name = p.get('package');
    const version = p.get('version');
    const arch = p.get('architecture');
    const filename = p.get('filename');
    const sha256 = p.get('sha256');
    const size = Number(p.get('size'));
    if (!name || !version || !arch) continue;
    const where = `${origin.indexName}: ${name} ${version}`;
    if (!filename || !sha256 || !/^[a-f0-9]{64}$/.test(sha256) || !Number.isSafeInteger(size)) {
      throw new Error(`${where}: entry lacks Filename, Size or SHA256`);
    }
    const ma = p.get('multi-arch');
    out.push({
      name,
      version,
      arch,
      multiArch: ma === 'same' || ma === 'foreign' || ma === 'allowed' ? ma : 'no',
      essential: p.get('essential') === 'yes',
      priority: p.get('priority'),
      ...sourceOf(p, name, version),
      preDepends: parseDependencies(p.get('pre-depends'), where),
      depends: parseDependencies(p.get('depends'), where),
      provides: parseDependencies(p.get('provides'), where).flat(),
      filename,
      size,
      sha256,
      suite: origin.suite,
      mirror: origin.mirror,
      paragraph: p,
    });
  }
  return out;
}
