import { parseControl } from '../../debian/control.ts';

/*
 * A package's licence, where its copyright file is machine-readable (DEP-5): the short names of
 * its `License:` fields, mapped to SPDX identifiers where Debian's names differ. Free-form
 * copyright files give nothing: the SBOM then says NOASSERTION rather than guessing.
 */

const spdxNames: Record<string, string> = {
  'GPL-1': 'GPL-1.0-only',
  'GPL-1+': 'GPL-1.0-or-later',
  'GPL-2': 'GPL-2.0-only',
  'GPL-2+': 'GPL-2.0-or-later',
  'GPL-3': 'GPL-3.0-only',
  'GPL-3+': 'GPL-3.0-or-later',
  'LGPL-2': 'LGPL-2.0-only',
  'LGPL-2+': 'LGPL-2.0-or-later',
  'LGPL-2.1': 'LGPL-2.1-only',
  'LGPL-2.1+': 'LGPL-2.1-or-later',
  'LGPL-3': 'LGPL-3.0-only',
  'LGPL-3+': 'LGPL-3.0-or-later',
  'AGPL-3': 'AGPL-3.0-only',
  'AGPL-3+': 'AGPL-3.0-or-later',
  'GFDL-1.2': 'GFDL-1.2-only',
  'GFDL-1.2+': 'GFDL-1.2-or-later',
  'GFDL-1.3': 'GFDL-1.3-only',
  'GFDL-1.3+': 'GFDL-1.3-or-later',
  'Apache-2.0': 'Apache-2.0',
  'Apache-2': 'Apache-2.0',
  'BSD-2-clause': 'BSD-2-Clause',
  'BSD-3-clause': 'BSD-3-Clause',
  'BSD-4-clause': 'BSD-4-Clause',
  Expat: 'MIT',
  MIT: 'MIT',
  ISC: 'ISC',
  Zlib: 'Zlib',
  zlib: 'Zlib',
  'MPL-1.1': 'MPL-1.1',
  'MPL-2.0': 'MPL-2.0',
  'PSF-2': 'PSF-2.0',
  'Python-2.0': 'Python-2.0',
  Artistic: 'Artistic-1.0-Perl',
  'Artistic-2.0': 'Artistic-2.0',
  'public-domain': 'LicenseRef-public-domain',
  'CC0-1.0': 'CC0-1.0',
  OpenSSL: 'OpenSSL',
  curl: 'curl',
  'BSL-1.0': 'BSL-1.0',
  'Unicode-DFS-2016': 'Unicode-DFS-2016',
};

function toSpdx(name: string): string {
  const known = spdxNames[name];
  if (known) return known;
  return `LicenseRef-${name.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '') || 'unknown'}`;
}

/** The licence expression a DEP-5 copyright file states, or undefined. */
export function licenseFromCopyright(text: string): string | undefined {
  if (!/^Format:\s*\S*copyright-format/m.test(text)) return undefined;
  const names = new Set<string>();
  for (const p of parseControl(text)) {
    if (!p.has('files')) continue;
    const first = (p.get('license') ?? '').split('\n')[0]?.trim() ?? '';
    for (const part of first.split(/\s+(?:or|and|\|)\s+|\s*,\s*(?:and|or)?\s*/i)) {
      const n = part
        .replace(/[()]/g, '')
        .replace(/\s+with\s+.*$/i, '')
        .trim();
      if (n) names.add(toSpdx(n));
    }
  }
  if (names.size === 0) return undefined;
  // Every file's licence applies to the package as a whole: a conjunction.
  return [...names].sort().join(' AND ');
}
