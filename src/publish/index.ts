export { ensureInstanceSignatures, instanceDigests, instancesSigned } from './arch-signatures.ts';
export {
  ensureAttestations,
  type AttestedEnvelope,
  type StatementToAttest,
} from './attestations.ts';
export {
  compareImageVersions,
  moveFloatingTags,
  versionOf,
  type ImageVersion,
  type TagMove,
} from './floating-tags.ts';
export { assembleIndex } from './image-index.ts';
export {
  publishImage,
  publishSteps,
  type PublishOptions,
  type PublishStep,
} from './publish-image.ts';
export { publishLayout, type PublishLayoutOptions } from './publish-layout.ts';
export { readPublishedState } from './published-state.ts';
export { pushArchImage, type PushArchOptions, type PushArchResult } from './push-arch.ts';
export { ensureBundleReferrers } from './referrers.ts';
export { ensureSignature } from './signature.ts';
