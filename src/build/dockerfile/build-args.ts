import { chmod, mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PermanentError } from '../../errors.ts';
import { registerSecret, type Logger } from '../../log.ts';

/** Build arguments: the recipe's own, then VERSION and SOURCE_DATE_EPOCH, which kiln always sets. */
export function buildArgs(
  recipeArgs: Record<string, string> | undefined,
  version: string,
  sourceDateEpoch: number,
  log?: Logger,
): [string, string][] {
  const args = new Map<string, string>(Object.entries(recipeArgs ?? {}));
  for (const reserved of ['VERSION', 'SOURCE_DATE_EPOCH']) {
    if (args.has(reserved))
      log?.warn(
        { arg: reserved },
        `build arg ${reserved} is set by kiln; the recipe's value is ignored`,
      );
  }
  args.set('VERSION', version);
  args.set('SOURCE_DATE_EPOCH', String(sourceDateEpoch));
  return [...args.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** A build secret, handed to the tool as `--secret id=<id>,src=<file>`: never a build arg. */
export interface SecretFile {
  id: string;
  file: string;
}

/** The environment variable a recipe secret is read from: `npm-token` → `KILN_SECRET_NPM_TOKEN`. */
export function secretVariable(name: string): string {
  return `KILN_SECRET_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`;
}

/**
 * Writes each named secret into a 0600 file under `dir` (inside the private work folder) and
 * registers its value with the logger, so it is masked if a tool ever prints it.
 */
export async function writeSecrets(
  names: readonly string[] | undefined,
  dir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<SecretFile[]> {
  if (!names || names.length === 0) return [];
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const out: SecretFile[] = [];
  for (const id of names) {
    if (!/^[A-Za-z0-9._-]+$/.test(id))
      throw new PermanentError(
        `build secret name ${JSON.stringify(id)} may only hold letters, digits, '.', '_' and '-'`,
      );
    const variable = secretVariable(id);
    const value = env[variable];
    if (value === undefined)
      throw new PermanentError(`build secret ${id}: set ${variable} in the worker's environment`);
    registerSecret(value);
    const file = path.join(dir, id);
    await writeFile(file, value, { mode: 0o600 });
    await chmod(file, 0o600);
    out.push({ id, file });
  }
  return out;
}

/** `--secret id=…,src=…` for buildah and buildctl alike. */
export function secretFlags(secrets: readonly SecretFile[]): string[] {
  return secrets.flatMap((s) => ['--secret', `id=${s.id},src=${s.file}`]);
}
