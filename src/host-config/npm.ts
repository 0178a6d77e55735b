import { readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/**
 * The npm registry this host is configured for: `registry=` from the user's and the global
 * .npmrc, or `npm_config_registry`. kiln never names a registry host itself.
 */
export async function hostNpmRegistry(
  env: NodeJS.ProcessEnv = process.env,
): Promise<string | undefined> {
  const fromEnv = env.npm_config_registry ?? env.NPM_CONFIG_REGISTRY;
  if (fromEnv) return fromEnv;
  const candidates = [
    env.NPM_CONFIG_USERCONFIG ?? path.join(os.homedir(), '.npmrc'),
    env.NPM_CONFIG_GLOBALCONFIG ?? '/etc/npmrc',
    '/usr/etc/npmrc',
    '/usr/local/etc/npmrc',
  ];
  for (const file of candidates) {
    const text = await readFile(file, 'utf8').catch(() => undefined);
    const match = text && /^\s*registry\s*=\s*(\S+)\s*$/m.exec(text);
    if (match?.[1]) return match[1];
  }
  return npmBuiltinRegistry();
}

/** npm's own default, read from the npm installation beside this Node rather than written here. */
async function npmBuiltinRegistry(): Promise<string | undefined> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve) => {
    execFile('npm', ['config', 'get', 'registry'], { timeout: 10_000 }, (error, stdout) => {
      const value = stdout?.trim();
      resolve(!error && value && /^https?:\/\//.test(value) ? value : undefined);
    });
  });
}
