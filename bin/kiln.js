#!/usr/bin/env node
// Runs the compiled CLI in dist/ when it was built from the sources as they are now, and the
// TypeScript sources through tsx otherwise, so a checkout needs no build step and an edit to src/
// is never shadowed by an older build.
import module from 'node:module';
import { pathToFileURL } from 'node:url';
import v8 from 'node:v8';
import { currentBuild, holdBuild } from './dist-state.js';

// Node ≥ 22.1 keeps compiled code between runs (in the OS's temporary folder); Node 20 has no
// cache for ES modules, so there this does nothing.
module.enableCompileCache?.();

// `kiln lint` is over in a few hundred milliseconds: V8's optimising compiler would spend more
// CPU compiling the YAML and zod code than the optimised code saves in that time (about 20% of
// the command's CPU here, see bench/cli/README.md). An eight times larger budget before a
// function is optimised keeps that for code that is really hot, as in a lint of thousands of
// recipes. Long-running commands (up, worker, build) keep V8's defaults.
if (process.argv[2] === 'lint') v8.setFlagsFromString('--interrupt-budget=540672');

const build = currentBuild();
if (build) {
  holdBuild(build);
  await import(pathToFileURL(`${build}cli.js`).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli.ts');
}
