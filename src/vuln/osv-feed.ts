import { createReadStream } from 'node:fs';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parser, type Token } from 'stream-json/parser.js';
import { z } from 'zod';
import { PermanentError } from '../errors.ts';
import { compareDebianVersions } from '../debian/version.ts';
import { parseDebianVersion } from '../versioning/debian-compare.ts';
import { BoundedValue, type ValueLimits } from './bounded-value.ts';
import { addStatus, emptyFeed, parseUrgency, refuse, type VulnFeed } from './model.ts';
import { codenameOfOsvEcosystem } from './releases.ts';

/*
 * OSV records of Debian's ecosystem (osv-schema: `affected[].package.ecosystem` = `Debian:13`,
 * `ranges[].events` with `introduced`/`fixed`, `ecosystem_specific.urgency`), as a JSON array
 * (streamed, one record at a time under limits) or a folder of `*.json` records. Each record
 * becomes the same statuses the tracker's feed gives: a `fixed` event is a resolved release with
 * that fixed version, no `fixed` event an open one.
 */

/** OSV records are larger than tracker entries: `versions` lists every affected version. */
export const osvRecordLimits: ValueLimits = {
  maxStringChars: 256 * 1024,
  maxKeyChars: 256,
  maxMembers: 20_000,
  maxDepth: 8,
};

/** The most bytes one record file in a folder may have. */
const maxRecordFileBytes = 8 * 1024 * 1024;

const eventSchema = z.object({ introduced: z.string().optional(), fixed: z.string().optional() });
const recordSchema = z.object({
  id: z.string().max(200),
  withdrawn: z.string().optional(),
  aliases: z.array(z.string()).optional(),
  upstream: z.array(z.string()).optional(),
  details: z.string().optional(),
  summary: z.string().optional(),
  affected: z.array(
    z.object({
      package: z.object({ ecosystem: z.string(), name: z.string() }),
      ranges: z.array(z.object({ type: z.string(), events: z.array(eventSchema) })).optional(),
      ecosystem_specific: z
        .object({
          urgency: z.string().optional(),
          // Ubuntu's records list the binaries of the fixed source: {binary_name, binary_version}.
          binaries: z
            .array(z.object({ binary_name: z.string(), binary_version: z.string().optional() }))
            .optional(),
        })
        .optional(),
    }),
  ),
});

const cveId = /^CVE-\d{4}-\d{4,}$/;
const sourceName = /^[a-z0-9][a-z0-9+.-]+$/;
/** More binaries than any Debian source builds (linux builds a few hundred). */
const maxBinaries = 2000;

/** The affected binaries an entry names, or the reason they are refused. */
function binariesOf(affected: Affected): { binaries: string[] | undefined } | { refused: string } {
  const listed = affected.ecosystem_specific?.binaries;
  if (!listed) return { binaries: undefined };
  if (listed.length > maxBinaries) return { refused: `more than ${maxBinaries} binaries` };
  const bad = listed.find((b) => !sourceName.test(b.binary_name));
  if (bad)
    return {
      refused: `binary "${bad.binary_name.slice(0, 40)}" is not a Debian package name`,
    };
  return { binaries: [...new Set(listed.map((b) => b.binary_name))].sort() };
}

/** The CVE ids a record is about: its id, DEBIAN-CVE-… unwrapped, its upstream and aliases. */
function cvesOf(record: z.infer<typeof recordSchema>): string[] {
  const ids = [
    record.id.replace(/^DEBIAN-/, ''),
    ...(record.upstream ?? []),
    ...(record.aliases ?? []),
  ];
  return [...new Set(ids.filter((id) => cveId.test(id)))];
}

/** Adds one OSV record to a feed, refusing the parts that do not hold. */
export function addOsvRecord(
  feed: VulnFeed,
  value: unknown,
  where: string,
  wanted?: ReadonlySet<string>,
): void {
  const parsed = recordSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    refuse(
      feed,
      where,
      `not an OSV record: ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'invalid'}`,
    );
    return;
  }
  const record = parsed.data;
  if (record.withdrawn) return;
  const label = `${where} ${record.id}`;
  const cves = cvesOf(record);
  if (cves.length === 0) {
    refuse(feed, label, 'names no CVE id (id, upstream or aliases)');
    return;
  }
  const description = record.summary ?? record.details?.slice(0, 500);
  for (const affected of record.affected)
    addAffected(feed, affected, { label, cves, description, wanted });
}

type Affected = z.infer<typeof recordSchema>['affected'][number];

/** One `affected[]` entry of a record: a source package in one Debian release. */
function addAffected(
  feed: VulnFeed,
  affected: Affected,
  of: {
    label: string;
    cves: string[];
    description: string | undefined;
    wanted?: ReadonlySet<string> | undefined;
  },
): void {
  const { label, cves, wanted } = of;
  const { ecosystem, name } = affected.package;
  if (!ecosystem.startsWith('Debian')) return;
  const release = codenameOfOsvEcosystem(ecosystem);
  if (!release) {
    refuse(feed, `${label} ${name}`, `unknown release "${ecosystem.slice(0, 40)}"`);
    return;
  }
  if (!sourceName.test(name)) {
    refuse(feed, label, `"${name.slice(0, 40)}" is not a Debian source package name`);
    return;
  }
  feed.sourcesSeen++;
  if (wanted && !wanted.has(name)) return;
  const where = `${label} ${name} ${release}`;
  const fixed = affected.ranges
    ?.filter((r) => r.type === 'ECOSYSTEM')
    .flatMap((r) => r.events)
    .map((e) => e.fixed)
    .find((f) => f !== undefined);
  if (fixed !== undefined && !parseDebianVersion(fixed)) {
    refuse(feed, where, `fixed "${fixed.slice(0, 60)}" is not a Debian version`);
    return;
  }
  const urgency = parseUrgency(affected.ecosystem_specific?.urgency);
  if (!urgency) {
    const raw = affected.ecosystem_specific?.urgency?.slice(0, 40) ?? '';
    refuse(feed, where, `unknown urgency "${raw}"`);
    return;
  }
  const binaries = binariesOf(affected);
  if ('refused' in binaries) {
    refuse(feed, where, binaries.refused);
    return;
  }
  for (const cve of cves) {
    const previous = feed.sources.get(name)?.get(cve)?.releases.get(release);
    // Several records (a DSA, a DEBIAN-CVE) may speak of one CVE: the first fix wins.
    if (
      previous?.fixedVersion !== undefined &&
      (fixed === undefined || compareDebianVersions(previous.fixedVersion, fixed) <= 0)
    )
      continue;
    addStatus(
      feed,
      name,
      cve,
      release,
      {
        status: fixed === undefined ? 'open' : 'resolved',
        fixedVersion: fixed,
        urgency,
        noDsa: undefined,
        repositories: undefined,
        ...(binaries.binaries ? { binaries: binaries.binaries } : {}),
      },
      of.description,
    );
  }
}

/** Reads an OSV JSON array (or one record) from a byte stream, one record at a time. */
export async function readOsvArray(
  input: Readable,
  options: { wanted?: ReadonlySet<string>; what?: string } = {},
): Promise<VulnFeed> {
  const feed = emptyFeed();
  const what = options.what ?? 'OSV records';
  let depth = 0;
  let index = 0;
  let value: BoundedValue | undefined;
  let failed = false;
  const tokens = parser.asStream({ packValues: false, streamValues: true });
  const take = (token: Token): void => {
    if (value) {
      if (!value.push(token)) return;
      const done = value;
      value = undefined;
      if (done.failure) refuse(feed, `${what}[${index}]`, `record refused: ${done.failure}`);
      else addOsvRecord(feed, done.value, `${what}[${index}]`, options.wanted);
      index++;
      if (depth === 0) depth = 2;
      return;
    }
    if (depth === 0 && token.name === 'startArray') {
      depth = 1;
      return;
    }
    if (depth === 1 && token.name === 'endArray') {
      depth = 2;
      return;
    }
    if (depth === 2) throw new PermanentError(`${what}: content after the records`);
    if (token.name === 'whitespace') return;
    // One element of the array, or (depth 0) a file holding a single record.
    value = new BoundedValue(osvRecordLimits);
    take(token);
  };
  tokens.on('data', (token: Token) => {
    if (failed) return;
    try {
      take(token);
    } catch (error) {
      failed = true;
      tokens.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  });
  try {
    await pipeline(input, tokens);
  } catch (cause) {
    if (cause instanceof PermanentError) throw cause;
    throw new PermanentError(`${what}: not valid JSON`, { cause });
  }
  if (depth !== 2) throw new PermanentError(`${what}: the document ended early`);
  return feed;
}

/** Reads a folder of OSV records (`*.json`, one record each). */
export async function readOsvFolder(
  dir: string,
  options: { wanted?: ReadonlySet<string> } = {},
): Promise<VulnFeed> {
  const feed = emptyFeed();
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  for (const name of names) {
    const file = path.join(dir, name);
    const info = await stat(file);
    if (!info.isFile()) continue;
    if (info.size > maxRecordFileBytes) {
      refuse(feed, name, `larger than ${maxRecordFileBytes} bytes`);
      continue;
    }
    let value: unknown;
    try {
      value = JSON.parse(await readFile(file, 'utf8'));
    } catch (error) {
      refuse(
        feed,
        name,
        `not valid JSON (${error instanceof Error ? error.message : String(error)})`,
      );
      continue;
    }
    addOsvRecord(feed, value, name, options.wanted);
  }
  return feed;
}

/** Opens an OSV array file as a stream, for callers that have a path. */
export function readOsvFile(file: string, wanted?: ReadonlySet<string>): Promise<VulnFeed> {
  return readOsvArray(createReadStream(file), { wanted, what: file });
}
