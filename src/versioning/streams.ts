import semver from 'semver';
import type { VersionScheme } from './scheme.ts';

/** A line of tags: the versions a semver range admits. */
export interface Stream {
  name: string;
  range: string;
}

/** A stream as a recipe writes it: a bare range or `{name, range}`. */
export type StreamSpec = string | { name: string; range: string };

/** Streams with their names; no streams means one stream `default` of every version. */
export function normalizeStreams(specs: StreamSpec[] | undefined): Stream[] {
  if (!specs || specs.length === 0) return [{ name: 'default', range: '*' }];
  return specs.map((s) => (typeof s === 'string' ? { name: s.trim(), range: s } : s));
}

/** Whether a version (valid in the scheme) falls in the stream's range. */
export function inStream(scheme: VersionScheme, stream: Stream, version: string): boolean {
  return semver.satisfies(scheme.rangeProxy(version), stream.range, { includePrerelease: true });
}

/** A membership test for one stream with its range parsed once, for many versions. */
export function streamMatcher(scheme: VersionScheme, stream: Stream): (version: string) => boolean {
  const range = new semver.Range(stream.range, { includePrerelease: true });
  return (version) => range.test(scheme.rangeProxy(version));
}

/** Why a range can admit no version at all, or undefined. */
export function unsatisfiableRangeReason(range: string): string | undefined {
  if (semver.validRange(range) === null) return 'is not a valid semver range';
  if (semver.minVersion(range) === null) return 'can never match any version';
  return undefined;
}
