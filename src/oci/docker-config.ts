import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';

export interface RegistryCredentials {
  username: string;
  password: string;
}

const dockerConfigSchema = z.object({
  auths: z
    .record(
      z.string(),
      z.object({
        auth: z.string().optional(),
        username: z.string().optional(),
        password: z.string().optional(),
        identitytoken: z.string().optional(),
      }),
    )
    .optional(),
});

/**
 * Credentials for `host` from Docker's `config.json` (`$DOCKER_CONFIG/config.json`, else
 * `~/.docker/config.json`), the file `docker login`, `podman login` and `skopeo login` write.
 * Only stored `auths` entries are read; credential helpers (`credsStore`) are not run.
 */
export async function dockerConfigCredentials(
  host: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<RegistryCredentials | undefined> {
  const file = path.join(env.DOCKER_CONFIG ?? path.join(os.homedir(), '.docker'), 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  let parsed: z.infer<typeof dockerConfigSchema>;
  try {
    parsed = dockerConfigSchema.parse(JSON.parse(text));
  } catch (error) {
    // The file may hold secrets: say which file is unreadable, never echo its content.
    throw new Error(`reading registry credentials: ${file} is not a valid Docker config.json`, {
      cause: error instanceof z.ZodError ? new Error('unexpected structure') : undefined,
    });
  }
  for (const [key, entry] of Object.entries(parsed.auths ?? {})) {
    if (hostOfKey(key) !== host) continue;
    if (entry.username !== undefined && entry.password !== undefined) {
      return { username: entry.username, password: entry.password };
    }
    if (entry.auth) {
      const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      if (colon > 0)
        return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
    }
  }
  return undefined;
}

/** Keys are written as `host`, `https://host`, or `https://host/v1/`. */
function hostOfKey(key: string): string {
  return key.replace(/^[a-z]+:\/\//, '').replace(/\/.*$/, '');
}
