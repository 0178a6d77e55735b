import { access, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { PermanentError } from '../errors.ts';
import { generateKeyPair } from '../sign/keys.ts';
import { CliExit, cliContext, ExitCode } from './context.ts';

/**
 * Writes `<prefix>.key` (mode 0600) and `<prefix>.pub`. With a password the private key is sealed
 * in cosign's encrypted format, so `cosign sign --key` reads it too; without one it is PKCS#8.
 */
export async function writeKeyPair(
  prefix: string,
  password: string | undefined,
  force = false,
): Promise<{ keyFile: string; pubFile: string }> {
  const keyFile = `${prefix}.key`;
  const pubFile = `${prefix}.pub`;
  if (!force) {
    for (const file of [keyFile, pubFile]) {
      const exists = await access(file).then(
        () => true,
        () => false,
      );
      if (exists) throw new PermanentError(`${file} exists; use --force to overwrite`);
    }
  }
  const pair = generateKeyPair(password);
  await writeFile(keyFile, pair.privatePem, { mode: 0o600 });
  await writeFile(pubFile, pair.publicPem, { mode: 0o644 });
  return { keyFile, pubFile };
}

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .option('--out <prefix>', 'file prefix', 'cosign')
    .option('--force', 'overwrite existing key files')
    .description('make a cosign-compatible P-256 key pair (<prefix>.key, <prefix>.pub)')
    .action(async (flags: { out: string; force?: boolean }) => {
      const { config } = cliContext();
      const password = config.signingKeyPassword;
      const { keyFile, pubFile } = await writeKeyPair(flags.out, password, flags.force).catch(
        (error: unknown) => {
          throw new CliExit(`kiln keygen: ${(error as Error).message}`, ExitCode.failure);
        },
      );
      process.stdout.write(
        `Private key written to ${keyFile} (${password ? 'encrypted with KILN_SIGNING_KEY_PASSWORD' : 'unencrypted PKCS#8: keep it secret, or set KILN_SIGNING_KEY_PASSWORD'})\n` +
          `Public key written to ${pubFile}\n`,
      );
    });
}
