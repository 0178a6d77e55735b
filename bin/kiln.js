#!/usr/bin/env node
// Runs the compiled CLI in dist/ when it was built from the sources as they are now, and the
// TypeScript sources through tsx otherwise, so a checkout needs no build step and an edit to src/
// is never shadowed by an older build.
import { pathToFileURL } from 'node:url';
import { currentBuild } from './dist-state.js';

const build = currentBuild();
if (build) {
  await import(pathToFileURL(`${build}cli.js`).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
