export { runImageTests, bwrapArgs, type ImageTestOptions } from './run-tests.ts';
export { unpackLayout } from './unpack.ts';
export { secureJoin } from './secure-path.ts';
export { cachedRoot, rootCacheDir } from './root-cache.ts';
