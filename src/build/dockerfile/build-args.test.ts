import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { PermanentError } from '../../errors.ts';
import { maskSecrets } from '../../log.ts';
import { buildArgs, secretVariable, writeSecrets } from './build-args.ts';

describe('build args', () => {
  it('always sets VERSION and SOURCE_DATE_EPOCH, over the recipe’s own', () => {
    expect(buildArgs({ VERSION: 'nope', FLAVOUR: 'slim' }, '1.2.3', 1_700_000_000)).toEqual([
      ['FLAVOUR', 'slim'],
      ['SOURCE_DATE_EPOCH', '1700000000'],
      ['VERSION', '1.2.3'],
    ]);
  });
});

describe('build secrets', () => {
  it('are written to private files and masked in logs', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-secrets-'));
    try {
      const secrets = await writeSecrets(['NPM_TOKEN'], path.join(dir, 's'), {
        [secretVariable('NPM_TOKEN')]: 'tok-123456',
      });
      expect(secrets).toEqual([{ id: 'NPM_TOKEN', file: path.join(dir, 's', 'NPM_TOKEN') }]);
      expect(await readFile(secrets[0]?.file ?? '', 'utf8')).toBe('tok-123456');
      expect((await stat(secrets[0]?.file ?? '')).mode & 0o777).toBe(0o600);
      expect(maskSecrets('token is tok-123456')).toBe('token is [REDACTED]');
      await expect(writeSecrets(['MISSING'], path.join(dir, 's'), {})).rejects.toThrow(
        PermanentError,
      );
      await expect(writeSecrets(['MISSING'], path.join(dir, 's'), {})).rejects.toThrow(
        'KILN_SECRET_MISSING',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
