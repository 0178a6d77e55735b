export {
  compileExtractor,
  type ExtractionOptions,
  type Extracted,
  type Extractor,
} from './extract.ts';
export type { UpstreamRelease } from './release.ts';
export {
  isSafeVersion,
  maxVersionLength,
  unsafeTagReason,
  unsafeVersionReason,
} from './safe-version.ts';
export { compare, schemeOf, schemes, valid, type SchemeId, type VersionScheme } from './scheme.ts';
export {
  selectVersions,
  type Candidate,
  type Selection,
  type SelectOptions,
  type StreamSelection,
  type VersionPolicy,
} from './select.ts';
export {
  inStream,
  normalizeStreams,
  unsatisfiableRangeReason,
  type Stream,
  type StreamSpec,
} from './streams.ts';
