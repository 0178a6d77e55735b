// Asserts what Renovate does with renovate/kiln.json, using Renovate's own modules (see
// check-renovate-preset.sh): node check-renovate-preset.mjs <renovate package folder> <preset file>
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [renovateDir, presetFile] = process.argv.slice(2);
if (!renovateDir || !presetFile) {
  console.error('usage: check-renovate-preset.mjs <renovate package folder> <preset file>');
  process.exit(2);
}
const load = (p) => import(pathToFileURL(path.join(renovateDir, 'dist', p)).href);
const { replaceArgs } = await load('config/presets/index.js');
const { applyPackageRules } = await load('util/package-rules/index.js');
const { get: getVersioning } = await load('modules/versioning/index.js');
const { filterVersions } = await load('workers/repository/process/lookup/filter.js');

const images = 'registry.example.org/kiln/**';
const preset = replaceArgs(JSON.parse(readFileSync(presetFile, 'utf8')), { arg0: images });

let failures = 0;
function check(what, actual, expected) {
  const ok = JSON.stringify(actual) === JSON.stringify(expected);
  if (!ok) failures++;
  console.log(
    `${ok ? 'ok  ' : 'FAIL'} ${what}: ${JSON.stringify(actual)}${ok ? '' : ` (expected ${JSON.stringify(expected)})`}`,
  );
}

/** The configuration Renovate's package rules give one dependency (the fetch phase's stage). */
async function ruleFor(packageName, currentValue) {
  const config = await applyPackageRules(
    { ...preset, datasource: 'docker', packageName, depName: packageName, currentValue },
    'pre-lookup',
  );
  return config.versioning;
}

/**
 * The update Renovate's lookup would propose for `current` among `tags`: the versioning its rules
 * pick, its filter (newer, stable unless asked), compatible only, the highest, then getNewValue.
 */
async function proposal(packageName, current, tags) {
  const versioning = (await ruleFor(packageName, current)) ?? 'docker';
  const api = getVersioning(versioning);
  if (!api.isValid(current)) return { versioning: short(versioning), update: null };
  const releases = tags.map((version) => ({ version }));
  const candidates = filterVersions(
    { ignoreUnstable: true, respectLatest: true },
    current,
    undefined,
    releases,
    api,
  )
    .filter((r) => api.isCompatible(r.version, current))
    .sort((a, b) => api.sortVersions(a.version, b.version));
  const newest = candidates.at(-1)?.version;
  const update = newest
    ? api.getNewValue({
        currentValue: current,
        rangeStrategy: 'replace',
        currentVersion: current,
        newVersion: newest,
      })
    : null;
  return { versioning: short(versioning), update };
}

const ruleNames = preset.packageRules.map((r) => r.versioning);
const short = (v) => (ruleNames.includes(v) ? `rule ${ruleNames.indexOf(v) + 1}` : v);
const [exact, dev, stamped, stampedDev] = ruleNames.map((v) => getVersioning(v));

console.log('\n# regex versioning, pair by pair');
check('1.2.3-r1 > 1.2.3-r0', exact.isGreaterThan('1.2.3-r1', '1.2.3-r0'), true);
check('1.2.3-r1 compatible with 1.2.3-r0', exact.isCompatible('1.2.3-r1', '1.2.3-r0'), true);
check('1.2.3-r10 > 1.2.3-r9 (numeric epoch)', exact.isGreaterThan('1.2.3-r10', '1.2.3-r9'), true);
check(
  'getNewValue 1.2.3-r9 -> 1.2.3-r10',
  exact.getNewValue({
    currentValue: '1.2.3-r9',
    rangeStrategy: 'replace',
    currentVersion: '1.2.3-r9',
    newVersion: '1.2.3-r10',
  }),
  '1.2.3-r10',
);
check(
  '1.2.4-r0 > 1.2.3-r5 (version before epoch)',
  exact.isGreaterThan('1.2.4-r0', '1.2.3-r5'),
  true,
);
check('1.10.0-r0 > 1.9.9-r3', exact.isGreaterThan('1.10.0-r0', '1.9.9-r3'), true);
check(
  'epoch is the 4th release part (build)',
  [exact.getMajor('1.2.3-r7'), exact.getMinor('1.2.3-r7'), exact.getPatch('1.2.3-r7')],
  [1, 2, 3],
);
check('1.2.3-r0 is stable (no prerelease group)', exact.isStable('1.2.3-r0'), true);
check('-dev tag is not a version of the exact rule', exact.isValid('1.2.3-r1-dev'), false);
check('-dev not compatible with plain', exact.isCompatible('1.2.3-r1-dev', '1.2.3-r0'), false);
check('plain not compatible with -dev', dev.isCompatible('1.2.3-r1', '1.2.3-r0-dev'), false);
check('-dev compatible with -dev', dev.isCompatible('1.2.3-r1-dev', '1.2.3-r0-dev'), true);
check('1.2.3-r10-dev > 1.2.3-r9-dev', dev.isGreaterThan('1.2.3-r10-dev', '1.2.3-r9-dev'), true);
check(
  'build tag is not a version of the exact rule',
  exact.isValid('1.2.3-r1-202612011030'),
  false,
);
check(
  'build tags: the epoch orders, not the stamp',
  stamped.isGreaterThan('1.2.3-r2-202611010000', '1.2.3-r1-202612010000'),
  true,
);
check(
  'build tags of one build are equal (a re-publish is no update)',
  stamped.equals('1.2.3-r1-202612011030', '1.2.3-r1-202612021200'),
  true,
);
check(
  '-dev build tag, either order',
  [
    stampedDev.isValid('1.2.3-r1-dev-202612011030'),
    stampedDev.isValid('1.2.3-r1-202612011030-dev'),
  ],
  [true, true],
);
check(
  'Debian revision is the compatibility: 3.13.5-2-r1 compatible with 3.13.5-2-r0',
  exact.isCompatible('3.13.5-2-r1', '3.13.5-2-r0'),
  true,
);
check(
  'a new Debian revision is another compatibility (held, never a downgrade)',
  exact.isCompatible('3.11.2-6_deb12u7-r0', '3.11.2-6_deb12u6-r3'),
  false,
);
check(
  'prerelease 2.0.0-rc.1-r0 apart from 2.0.0-r0',
  exact.isCompatible('2.0.0-r0', '2.0.0-rc.1-r0'),
  false,
);

console.log('\n# which rule Renovate applies (matchCurrentValue, matchPackageNames)');
const image = 'registry.example.org/kiln/python';
const ruleTable = [
  ['1.2.3-r0', 'rule 1'],
  ['3.13.5-2-r4', 'rule 1'],
  ['3.11.2-6_deb12u6-r0', 'rule 1'],
  ['13.8_deb13u1-r2', 'rule 1'],
  ['2024.10.1-r0', 'rule 1'],
  ['1.2.3-r0-dev', 'rule 2'],
  ['3.13.5-2-r4-dev', 'rule 2'],
  ['1.2.3-r0-202612011030', 'rule 3'],
  ['1.2.3-r0-dev-202612011030', 'rule 4'],
  ['1.2.3-r0-202612011030-dev', 'rule 4'],
  ['1.2.3', 'none'],
  ['1.2', 'none'],
  ['1', 'none'],
  ['latest', 'none'],
  ['1.2-dev', 'none'],
  ['latest-dev', 'none'],
];
for (const [tag, rule] of ruleTable)
  check(`${tag} -> ${rule}`, short((await ruleFor(image, tag)) ?? 'none'), rule);
check(
  'an image outside the argument keeps Renovate defaults',
  (await ruleFor('docker.io/library/python', '3.13.5-2-r0')) ?? 'none',
  'none',
);

console.log('\n# the update Renovate proposes, from the tags a registry lists');
const published = [
  ...['1.2.3', '1.2', '1', 'latest', '1.2-dev', 'latest-dev'],
  ...Array.from({ length: 11 }, (_, n) => `1.2.3-r${n}`),
  ...Array.from({ length: 11 }, (_, n) => `1.2.3-r${n}-dev`),
  '1.2.3-r0-202611010900',
  '1.2.3-r10-202611300900',
  '1.2.3-r10-dev-202611300900',
  '1.2.4-r0',
  '1.2.4-r0-dev',
  '1.2.4-r0-202612010900',
  '1.2.4-r1-dev',
  '1.2.4-r1-dev-202612011200',
  '1.1.9-r0',
  '1.1.9-r0-202612011300',
  '2.0.0-rc.1-r0',
];
const proposals = [
  ['1.2.3-r0', '1.2.4-r0', 'plain: newest plain, not -dev, not a build tag, not the rc'],
  ['1.2.3-r9', '1.2.4-r0', 'plain, epoch 9'],
  ['1.2.3-r9-dev', '1.2.4-r1-dev', '-dev: newest -dev only'],
  ['1.2.3-r0-202611010900', '1.2.4-r0-202612010900', 'build tag: newest build tag, plain'],
  ['1.2.3-r10-dev-202611300900', '1.2.4-r1-dev-202612011200', '-dev build tag'],
  ['1.2.4-r0', null, 'newest already; the later backport 1.1.9 is not an update'],
  ['1.2.4-r0-202612010900', null, 'newest build; the later-stamped 1.1.9 build is not an update'],
  ['1.2', null, 'floating: Renovate docker versioning, no other 1.x line'],
];
for (const [current, expected, why] of proposals)
  check(
    `${current} -> ${expected} (${why})`,
    (await proposal(image, current, published)).update,
    expected,
  );

const debian = [
  '3.11.2-6_deb12u6-r0',
  '3.11.2-6_deb12u6-r1',
  '3.11.2-6_deb12u6-r2',
  '3.11.2-6_deb12u7-r0',
  '3.13.5-2-r0',
  '3.13.5-2-r1',
  '3.13.5-2-r1-dev',
  '3.13.6-2-r0',
  '3.11',
  '3.13',
];
for (const [current, expected, why] of [
  ['3.13.5-2-r0', '3.13.6-2-r0', 'Debian tag: nano and upstream updates of one Debian revision'],
  ['3.11.2-6_deb12u6-r0', '3.11.2-6_deb12u6-r2', 'held at its Debian revision (see the README)'],
  ['3.11.2-6_deb12u7-r0', null, 'no downgrade to an older revision with a higher epoch'],
])
  check(
    `${current} -> ${expected} (${why})`,
    (await proposal(image, current, debian)).update,
    expected,
  );

console.log(failures === 0 ? '\nall checks passed' : `\n${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);
