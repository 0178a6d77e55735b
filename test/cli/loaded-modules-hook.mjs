// `node --import <this file>`: appends the URL of every module node loads to the file named by
// KILN_TRACE_MODULES, one a line: ES modules and CommonJS files reached through import as the
// load hook sees them, and at exit the CommonJS files require() loaded (which bypass the hook).
// test/cli/build-lazy-imports.test.ts reads it to see what `kiln build` loads.
import { appendFileSync } from 'node:fs';
import { createRequire, register } from 'node:module';
import { pathToFileURL } from 'node:url';

const file = process.env.KILN_TRACE_MODULES;
if (file) {
  const hooks = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  appendFileSync(${JSON.stringify(file)}, url + '\\n');
  return next(url, context);
}`;
  register(`data:text/javascript,${encodeURIComponent(hooks)}`);
  const cache = createRequire(import.meta.url)('node:module')._cache;
  process.on('exit', () => {
    const urls = Object.keys(cache).map((p) => pathToFileURL(p).href);
    if (urls.length > 0) appendFileSync(file, `${urls.join('\n')}\n`);
  });
}
