import { execa } from 'execa';
import { describe, expect, it } from 'vitest';

/* kiln's own options and a command's options of the same name do not collide. */
describe('kiln command-line options', () => {
  it('gives `--version` after a command to the command (kiln build --version V)', async () => {
    const run = await execa(
      'node',
      ['bin/kiln.js', 'build', '/nonexistent.yaml', '--version', '1.2'],
      {
        reject: false,
        env: { ...process.env, KILN_LOG_LEVEL: 'silent' },
      },
    );
    expect(run.stdout).not.toMatch(/^0\.1\.0$/m);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/\/nonexistent\.yaml is not a loadable recipe/);
  });

  it('prints kiln’s version for `kiln --version`', async () => {
    const run = await execa('node', ['bin/kiln.js', '--version']);
    expect(run.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
  });
});
