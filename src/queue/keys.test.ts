import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import calculateSlot from 'cluster-key-slot';
import { describe, expect, it } from 'vitest';
import { redisKeys } from './keys.ts';

/** Every string the key table can produce, for a sample recipe. */
function allKeys(prefix: string): string[] {
  const k = redisKeys(prefix);
  const { of, everything, ...catalog } = k.catalog;
  return [
    ...Object.values(catalog),
    everything.replace('*', 'x'),
    ...Object.values(of('python')),
    ...Object.values(k.signals),
    k.upstreamValidator('ab'.repeat(16)),
    k.attemptHint('python@3.13.1@sha256:00'),
    k.lockfiles('python', '3.13'),
    k.firstSeen('python'),
    k.debianSuite('https://user:secret@mirror.example/debian', 'trixie'),
  ];
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return sourceFiles(file);
    return file.endsWith('.ts') && !file.endsWith('.test.ts') ? [file] : [];
  });
}

const srcDir = path.resolve(import.meta.dirname, '..');

describe('the key table', () => {
  it('puts every key under the prefix, and in one slot when the prefix is a hash tag', () => {
    const keys = allKeys('{kiln}');
    expect(keys.length).toBeGreaterThan(10);
    for (const key of keys) expect(key.startsWith('{kiln}:')).toBe(true);
    expect(new Set(keys.map((key) => calculateSlot(key))).size).toBe(1);
  });

  it('never holds a mirror URL, which may carry a password', () => {
    const key = redisKeys('kiln').debianSuite(
      'https://user:secret@mirror.example/debian',
      'trixie',
    );
    expect(key).not.toContain('secret');
    expect(key).not.toContain('mirror.example');
  });

  it('gives distinct keys', () => {
    const keys = allKeys('kiln');
    expect(new Set(keys).size).toBe(keys.length);
  });

  it('is the only place that builds a key from the prefix', () => {
    const builders = sourceFiles(srcDir).filter(
      (file) =>
        !file.endsWith(path.join('queue', 'keys.ts')) &&
        /`\$\{prefix\}:/.test(readFileSync(file, 'utf8')),
    );
    expect(builders.map((f) => path.relative(srcDir, f))).toEqual([]);
  });
});

describe('the queue layer', () => {
  it('is the only place that makes BullMQ objects', () => {
    const makers = sourceFiles(srcDir).filter(
      (file) =>
        !path.relative(srcDir, file).startsWith(`queue${path.sep}`) &&
        /new (Queue|Worker|QueueEvents|FlowProducer)\b|Job\.fromId\(/.test(
          readFileSync(file, 'utf8'),
        ),
    );
    expect(makers.map((f) => path.relative(srcDir, f))).toEqual([]);
  });
});
