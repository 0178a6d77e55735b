import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';

/** One apt source: a mirror URI, its suites and components, and its keyring if it names one. */
export interface AptSource {
  uri: string;
  suites: string[];
  components: string[];
  signedBy: string | undefined;
}

/** Parses deb822 `.sources` text (the format of /etc/apt/sources.list.d/*.sources). */
export function parseDeb822Sources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const stanza of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const line of stanza.split('\n')) {
      if (line.startsWith('#') || line.trim() === '') continue;
      if (/^\s/.test(line) && last) {
        fields.set(last, `${fields.get(last)} ${line.trim()}`);
        continue;
      }
      const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
      if (m?.[1]) {
        last = m[1].toLowerCase();
        fields.set(last, m[2] ?? '');
      }
    }
    const types = (fields.get('types') ?? '').split(/\s+/);
    const uris = (fields.get('uris') ?? '').split(/\s+/).filter(Boolean);
    if (!types.includes('deb') || uris.length === 0) continue;
    if ((fields.get('enabled') ?? 'yes').toLowerCase() === 'no') continue;
    for (const uri of uris) {
      out.push({
        uri: uri.replace(/\/+$/, ''),
        suites: (fields.get('suites') ?? '').split(/\s+/).filter(Boolean),
        components: (fields.get('components') ?? '').split(/\s+/).filter(Boolean),
        signedBy: fields.get('signed-by')?.trim() || undefined,
      });
    }
  }
  return out;
}

/** Parses one-line `deb [opts] uri suite components…` entries (/etc/apt/sources.list). */
export function parseOneLineSources(text: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    const m = /^deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m?.[2] || !m[3]) continue;
    const signedBy = /signed-by=(\S+)/.exec(m[1] ?? '')?.[1];
    out.push({
      uri: m[2].replace(/\/+$/, ''),
      suites: [m[3]],
      components: (m[4] ?? '').split(/\s+/).filter(Boolean),
      signedBy,
    });
  }
  return out;
}

/** The host's apt sources, from sources.list and sources.list.d, in apt's reading order. */
export async function hostAptSources(root = '/etc/apt'): Promise<AptSource[]> {
  const out: AptSource[] = [];
  const main = await readFile(path.join(root, 'sources.list'), 'utf8').catch(() => '');
  out.push(...parseOneLineSources(main));
  const dir = path.join(root, 'sources.list.d');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  for (const name of names) {
    const text = await readFile(path.join(dir, name), 'utf8').catch(() => '');
    if (name.endsWith('.sources')) out.push(...parseDeb822Sources(text));
    else if (name.endsWith('.list')) out.push(...parseOneLineSources(text));
  }
  return out;
}

/** The mirror that serves `suite` on this host (e.g. the security mirror for `*-security`). */
export function mirrorForSuite(sources: AptSource[], suite: string): AptSource | undefined {
  return sources.find((s) => s.suites.includes(suite));
}
