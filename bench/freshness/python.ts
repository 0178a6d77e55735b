import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { parseControl } from '../../src/debian/control.ts';
import {
  closureFiles,
  shippedClosures,
  shippedClosureSuites,
  type FakePackage,
} from '../../test/helpers/debian-repo.ts';
import { envtoolPackages, type EnvtoolUpstream } from '../../test/helpers/envtool.ts';

/*
 * A python-sized image for the local repository: the shipped python recipe's trixie closure with
 * its real relations (test/debian/shipped-closures.json, the repository test/debian/
 * pinned-output.test.ts builds), each package padded to its real size. The sizes are the real
 * trixie amd64 index's (test/debian/Packages.trixie-sample): a payload of `Installed-Size` KiB
 * whose first `Size` bytes are random and the rest zeros, so the .deb, the layer and the image
 * weigh what the real ones do compressed (~15 MB of .debs) and about what they do unpacked.
 * The zeros compress faster than real files, so build CPU is a little below a real python build's.
 */

const root = path.join(import.meta.dirname, '../..');

/** The suites of the python closure (trixie's group). */
export const pythonSuites = shippedClosureSuites.filter((s) => s.startsWith('trixie'));

/** name → [Size bytes, Installed-Size bytes] from the real trixie index sample. */
async function realSizes(): Promise<Map<string, [number, number]>> {
  const text = await readFile(path.join(root, 'test/debian/Packages.trixie-sample'), 'utf8');
  const sizes = new Map<string, [number, number]>();
  for (const p of parseControl(text)) {
    const name = p.get('package');
    if (!name || sizes.has(name)) continue;
    sizes.set(name, [Number(p.get('size') ?? 0), Number(p.get('installed-size') ?? 0) * 1024]);
  }
  return sizes;
}

/**
 * The trixie closure's packages at their real sizes, and envtool (the host's `env`, what the
 * image's test runs) in trixie too. `bytes` is the sum of the payloads' compressed sizes.
 */
export async function pythonSizedPackages(
  envtoolVersion: string,
): Promise<{ packages: FakePackage[]; bytes: number }> {
  const sizes = await realSizes();
  const records = (await shippedClosures()).filter((r) => pythonSuites.includes(r.suite));
  let bytes = 0;
  const packages = records.map((r): FakePackage => {
    const [size, installed] = sizes.get(r.name) ?? [0, 0];
    const files = { ...closureFiles(r) };
    if (size > 0) {
      files[`usr/lib/kiln-bench/${r.name}.bin`] = Buffer.concat([
        randomBytes(size),
        Buffer.alloc(Math.max(0, installed - size)),
      ]);
      bytes += size;
    }
    return { ...r, files };
  });
  return { packages: [...packages, ...(await envtoolPackages(envtoolVersion, 'trixie'))], bytes };
}

/**
 * A recipe with the shipped python recipe's contents (its packages and exclusions, trixie's
 * suites, its accounts, entrypoint and env) plus envtool, tagged by an npm or GitHub upstream.
 * Its test runs `env`: the stand-in python3 does not run.
 */
export async function pythonRecipe(name: string, upstream: EnvtoolUpstream): Promise<string> {
  const shipped = parse(await readFile(path.join(root, 'recipes/python.yaml'), 'utf8')) as {
    license: string;
    build: { contents: { packages: string[]; exclude?: string[] } } & Record<string, unknown>;
  };
  const { contents } = shipped.build;
  return stringify({
    name,
    description: 'freshness benchmark image (python-sized: the python recipe closure)',
    license: shipped.license,
    upstream,
    build: {
      ...shipped.build,
      archs: ['amd64'],
      contents: { ...contents, suites: pythonSuites, packages: [...contents.packages, 'envtool'] },
    },
    test: [{ name: 'env runs in the image', run: ['/usr/bin/env'] }],
  });
}
