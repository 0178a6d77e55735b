import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { execa } from 'execa';
import { PermanentError, TransientError } from '../../errors.ts';
import { sha256Digest } from '../../oci/digest.ts';
import type { Logger } from '../../log.ts';
import { LayoutSchema } from '../../oci/manifest-schema.ts';
import { Annotation } from '../../oci/media-types.ts';
import { runTool } from '../exec.ts';

/*
 * A Dockerfile's FROM may name an image kiln built itself (the debian builder's output), so the
 * build never pulls it from a remote registry. The recipe maps a FROM name to an OCI image layout
 * on disk; each backend then feeds that layout in its own documented way (buildah: pre-loaded into
 * the private storage and named with `--build-context name=container-image://<id>`; BuildKit:
 * `--oci-layout` plus a `context:<name>=oci-layout://…@<digest>` named context).
 */

export interface ResolvedBase {
  /** The name the Dockerfile uses in FROM. */
  name: string;
  /** OCI image layout holding the image. */
  layoutDir: string;
  /** Its `org.opencontainers.image.ref.name` in the layout, if it has one. */
  ref?: string;
  /** Digest of the index or manifest the ref points at. */
  digest: string;
  /** Where it came from, for provenance. */
  uri: string;
}

export interface BaseSourceOptions {
  recipeDir: string;
  /** KILN_REGISTRY, for `kiln:` bases. */
  registry?: string;
  insecureRegistries?: readonly string[];
  /** Where `kiln:` bases are copied to, as OCI layouts (a job-private folder: no sharing races). */
  cacheDir: string;
  /** Digests the planner resolved (see `baseDigests`): `kiln:` bases are copied at exactly these. */
  pinned?: Readonly<Record<string, string>>;
  signal?: AbortSignal;
  log?: Logger;
}

/** Turns the recipe's `bases` into OCI layouts on disk, each pinned by digest. */
export async function resolveBases(
  bases: Record<string, string> | undefined,
  options: BaseSourceOptions,
): Promise<ResolvedBase[]> {
  const out: ResolvedBase[] = [];
  for (const [name, source] of Object.entries(bases ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (source.startsWith('oci-layout:')) {
      const { dir, ref } = splitRef(source.slice('oci-layout:'.length));
      const layoutDir = path.resolve(options.recipeDir, dir);
      out.push({
        name,
        ...(await pickImage(layoutDir, ref, name)),
        uri: `oci-layout:${layoutDir}${ref ? `:${ref}` : ''}`,
      });
    } else if (source.startsWith('kiln:')) {
      out.push({ name, ...(await fetchKilnBase(source.slice('kiln:'.length), name, options)) });
    } else {
      throw new PermanentError(
        `base ${name}: expected oci-layout:<dir>[:<ref>] or kiln:<recipe>[:<tag>], got ${JSON.stringify(source)}`,
      );
    }
  }
  return out;
}

function splitRef(value: string): { dir: string; ref?: string } {
  const colon = value.lastIndexOf(':');
  if (colon <= 0 || value.slice(colon + 1).includes('/')) return { dir: value };
  return { dir: value.slice(0, colon), ref: value.slice(colon + 1) };
}

/** Finds the image a ref names in a layout (or its only image); the layout is input like any other. */
export async function pickImage(
  layoutDir: string,
  ref: string | undefined,
  name: string,
): Promise<{ layoutDir: string; ref?: string; digest: string }> {
  let raw: string;
  try {
    raw = await readFile(path.join(layoutDir, 'index.json'), 'utf8');
  } catch (cause) {
    throw new PermanentError(`base ${name}: no OCI image layout at ${layoutDir}`, { cause });
  }
  const parsed = LayoutSchema.index.safeParse(JSON.parse(raw));
  if (!parsed.success)
    throw new PermanentError(`base ${name}: ${layoutDir}/index.json is not an OCI image index`);
  const entries = parsed.data.manifests;
  const entry = ref
    ? entries.find((m) => m.annotations?.[Annotation.refName] === ref)
    : entries.length === 1
      ? entries[0]
      : undefined;
  if (!entry) {
    throw new PermanentError(
      ref
        ? `base ${name}: ${layoutDir} has no image tagged ${ref}`
        : `base ${name}: ${layoutDir} holds ${entries.length} images; name one with :<ref>`,
    );
  }
  return { layoutDir, ...(ref ? { ref } : {}), digest: entry.digest };
}

interface KilnImage {
  image: string;
  tag: string;
  recipe: string;
  /** Plain HTTP / unverified TLS: loopback registries and KILN_REGISTRY_INSECURE hosts. */
  insecure: boolean;
}

function kilnImage(spec: string, name: string, options: BaseSourceOptions): KilnImage {
  if (!options.registry) throw new PermanentError(`base ${name}: kiln:${spec} needs KILN_REGISTRY`);
  const [recipe, tag = 'latest'] = spec.split(':');
  if (!recipe || !/^[a-z0-9]+(-[a-z0-9]+)*$/.test(recipe) || !/^[A-Za-z0-9_.-]+$/.test(tag)) {
    throw new PermanentError(`base ${name}: kiln:${spec} is not kiln:<recipe>[:<tag>]`);
  }
  const host = options.registry.split('/')[0] ?? '';
  const insecure =
    /^(127\.|localhost(:|$)|\[::1\])/.test(host) ||
    (options.insecureRegistries ?? []).some((h) => h === host);
  return { image: `${options.registry}/${recipe}:${tag}`, tag, recipe, insecure };
}

/** Copies `<KILN_REGISTRY>/<recipe>:<tag>` (all arches) into a local layout with skopeo. */
async function fetchKilnBase(
  spec: string,
  name: string,
  options: BaseSourceOptions,
): Promise<Omit<ResolvedBase, 'name'>> {
  const { image: tagged, tag, recipe, insecure } = kilnImage(spec, name, options);
  const pin = options.pinned?.[name];
  // Pinned: the build uses the very image its inputs digest was computed from, even if the tag moved.
  const image = pin ? `${tagged.slice(0, tagged.lastIndexOf(':'))}@${pin}` : tagged;
  const layoutDir = path.join(options.cacheDir, 'bases', `${recipe}-${tag}`);
  await mkdir(path.dirname(layoutDir), { recursive: true });
  await runTool({
    what: `copying base ${name} from ${image}`,
    file: 'skopeo',
    args: [
      'copy',
      '--all',
      '--quiet',
      ...(insecure ? ['--src-tls-verify=false'] : []),
      `docker://${image}`,
      `oci:${layoutDir}:${tag}`,
    ],
    signal: options.signal,
    timeoutMs: 10 * 60_000,
    log: options.log,
    classify: () => 'transient',
  });
  return { ...(await pickImage(layoutDir, tag, name)), uri: `docker://${image}` };
}

/**
 * The digest each base names right now, without copying anything: part of the build's inputs
 * digest, so a rebuilt kiln base (a nano update of `static`) rebuilds what stands on it.
 */
export async function baseDigests(
  bases: Record<string, string> | undefined,
  options: BaseSourceOptions,
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [name, source] of Object.entries(bases ?? {}).sort(([a], [b]) => (a < b ? -1 : 1))) {
    if (!source.startsWith('kiln:')) {
      const [resolved] = await resolveBases({ [name]: source }, options);
      if (resolved) out[name] = resolved.digest;
      continue;
    }
    const { image, insecure } = kilnImage(source.slice('kiln:'.length), name, options);
    const result = await execa(
      'skopeo',
      ['inspect', '--raw', ...(insecure ? ['--tls-verify=false'] : []), `docker://${image}`],
      {
        encoding: 'buffer',
        reject: false,
        cancelSignal: options.signal,
        timeout: 120_000,
        stdin: 'ignore',
      },
    );
    if (result.exitCode !== 0) {
      throw new TransientError(
        `reading base ${name} (${image}): ${Buffer.from(result.stderr).toString().trim()}`,
      );
    }
    out[name] = sha256Digest(result.stdout);
  }
  return out;
}
