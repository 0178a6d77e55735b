/** The package root, with a trailing slash. */
export const root: string;
export const manifestFile: string;
export interface Manifest {
  format: 1;
  build: string;
  builtAt: string;
  /** Input path (relative to the root) → `size:mtimeMs`. */
  inputs: Record<string, string>;
}
export function inputState(relative: string): string | undefined;
export function readManifest(): Manifest | undefined;
/** The current build's folder (absolute, trailing slash), or undefined when dist/ is stale. */
export function currentBuild(manifest?: Manifest): string | undefined;
/** Marks a build folder as used by this process until it exits, so no rebuild removes it. */
export function holdBuild(build: string): void;
/** Whether a live process still uses this build folder. */
export function buildInUse(build: string): boolean;
