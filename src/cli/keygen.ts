import { access, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { generateKeyPair } from '../sign/keys.ts';
import { CliExit, cliContext, ExitCode } from './context.ts';

export function registerKeygen(program: Command): void {
  program
    .command('keygen')
    .option('--out <prefix>', 'file prefix', 'cosign')
    .option('--force', 'overwrite existing key files')
    .description('make a cosign-compatible P-256 key pair (<prefix>.key, <prefix>.pub)')
    .action(async (flags: { out: string; force?: boolean }) => {
      const { config } = cliContext();
      const keyFile = `${flags.out}.key`;
      const pubFile = `${flags.out}.pub`;
      if (!flags.force) {
        for (const file of [keyFile, pubFile]) {
          const exists = await access(file).then(
            () => true,
            () => false,
          );
          if (exists)
            throw new CliExit(
              `kiln keygen: ${file} exists; use --force to overwrite`,
              ExitCode.failure,
            );
        }
      }
      // With KILN_SIGNING_KEY_PASSWORD the private key is sealed in cosign's encrypted format.
      const pair = generateKeyPair(config.signingKeyPassword);
      await writeFile(keyFile, pair.privatePem, { mode: 0o600 });
      await writeFile(pubFile, pair.publicPem, { mode: 0o644 });
      process.stdout.write(
        `Private key written to ${keyFile}${config.signingKeyPassword ? ' (encrypted with KILN_SIGNING_KEY_PASSWORD)' : ' (unencrypted PKCS#8: keep it secret)'}\nPublic key written to ${pubFile}\n`,
      );
    });
}
