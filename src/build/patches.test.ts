import { mkdtemp, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PermanentError } from '../errors.ts';
import { applyPatches, compareLoose } from './patches.ts';

const original = ['one', 'two', 'three', 'four', 'five', 'six', 'seven', ''].join('\n');

const fixThree = `--- a/src/h.c
+++ b/src/h.c
@@ -1,6 +1,6 @@
 one
 two
-three
+THREE
 four
 five
 six
`;
const fixSix = `--- a/src/h.c
+++ b/src/h.c
@@ -4,4 +4,4 @@
 four
 five
-six
+SIX
 seven
`;

describe('applyPatches', () => {
  let dir: string;
  let source: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'kiln-patches-'));
    source = path.join(dir, 'source');
    await mkdir(path.join(source, 'src'), { recursive: true });
    await writeFile(path.join(source, 'src', 'h.c'), original);
    await writeFile(path.join(dir, '01-three.patch'), fixThree);
    await writeFile(path.join(dir, '02-six.patch'), fixSix);
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('applies patches in order', async () => {
    const report = await applyPatches({
      patches: [
        { file: '01-three.patch', reason: 'r' },
        { file: '02-six.patch', reason: 'r' },
      ],
      recipeDir: dir,
      sourceDir: source,
      version: '1.0.0',
      subject: 'demo 1.0.0',
    });
    expect(report.applied).toEqual(['01-three.patch', '02-six.patch']);
    expect(await readFile(path.join(source, 'src', 'h.c'), 'utf8')).toContain(
      'THREE\nfour\nfive\nSIX',
    );
  });

  it('skips and reports a patch whose until version has been reached', async () => {
    const report = await applyPatches({
      patches: [
        { file: '01-three.patch', reason: 'fixed upstream in 1.1', until: '1.1' },
        { file: '02-six.patch', reason: 'still needed', until: '2.0.0' },
      ],
      recipeDir: dir,
      sourceDir: source,
      version: '1.1.0',
      subject: 'demo 1.1.0',
    });
    expect(report.skipped).toEqual([
      { file: '01-three.patch', until: '1.1', reason: 'fixed upstream in 1.1' },
    ]);
    expect(report.applied).toEqual(['02-six.patch']);
  });

  it('fails naming the patch and the rejected hunk, leaving the source untouched', async () => {
    await writeFile(path.join(source, 'src', 'h.c'), original.replace('six', 'VI'));
    const error = await applyPatches({
      patches: [
        { file: '01-three.patch', reason: 'r' },
        { file: '02-six.patch', reason: 'r' },
      ],
      recipeDir: dir,
      sourceDir: source,
      version: '1.0.0',
      subject: 'demo 1.0.0',
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PermanentError);
    const message = (error as Error).message;
    expect(message).toContain('patching demo 1.0.0: patch 02-six.patch no longer applies');
    expect(message).toContain('hunk #1 of src/h.c (@@ -4,4 +4,4 @@) was rejected');
    expect(message).toContain('-six\n+SIX');
    // The first patch went in; the failing one left no half-applied change behind.
    expect(await readFile(path.join(source, 'src', 'h.c'), 'utf8')).toBe(
      original.replace('three', 'THREE').replace('six', 'VI'),
    );
  });

  it('says when upstream already contains the change', async () => {
    await writeFile(path.join(source, 'src', 'h.c'), original.replace('three', 'THREE'));
    const error = await applyPatches({
      patches: [{ file: '01-three.patch', reason: 'r' }],
      recipeDir: dir,
      sourceDir: source,
      version: '1.0.0',
      subject: 'demo 1.0.0',
    }).catch((e: unknown) => e);
    expect((error as Error).message).toContain('already contains this change');
  });
});

describe('compareLoose', () => {
  it('orders loose versions', () => {
    expect(compareLoose('1.10', '1.9.3')).toBe(1);
    expect(compareLoose('v2.0.0', '2.0')).toBe(0);
    expect(compareLoose('1.2.3-rc1', '1.2.3')).toBe(-1);
  });
});
