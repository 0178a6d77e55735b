import type { Logger } from '../log.ts';
import type { RegistryClient } from '../oci/registry-client.ts';
import type { BuildRequest } from '../model/build-request.ts';
import type { BuildResult } from '../model/build-result.ts';
import type { Signer } from '../sign/signer.ts';
import type { NanoUpdateFixes } from '../vuln/nano-fixes.ts';
import type { NotAffectedCve } from '../vuln/not-affected.ts';

/** The steps of a publish, in order; {@link PublishOptions.onStep} fires after each one. */
export const publishSteps = [
  'index',
  'signature',
  'arch-signatures',
  'attestations',
  'referrers',
  'build-tag',
  'version-tag',
  'floating-tags',
] as const;
export type PublishStep = (typeof publishSteps)[number];

export interface PublishOptions {
  client: RegistryClient;
  /** Repository path on the client's registry, e.g. `kiln/python`. */
  repository: string;
  request: BuildRequest;
  /** One per arch, their manifests already pushed by digest ({@link pushArchImage}). */
  archResults: BuildResult[];
  /** Signs the index and the attestations; undefined publishes unsigned, only with `allowUnsigned`. */
  signer: Signer | undefined;
  /** KILN_ALLOW_UNSIGNED: publish and tag without a signature. */
  allowUnsigned?: boolean;
  now?: Date;
  /**
   * The image's `created` time. Defaults to the upstream release time, else the request time:
   * never the wall clock, so publishing the same build twice gives the same index digest.
   */
  created?: string;
  /** What a nano update fixed (src/vuln/publish-fixes.ts): into the provenance and an OpenVEX attestation. */
  nanoFixes?: NanoUpdateFixes | undefined;
  /** Feed CVEs the image is not affected by (src/vuln/publish-vex.ts): `not_affected` in the OpenVEX attestation. */
  notAffected?: NotAffectedCve[] | undefined;
  /** URI of this kiln installation for the provenance's builder id. */
  builderId?: string;
  log?: Logger;
  /** Called after each step; tests use it to stop a publish half-way, as a crash would. */
  onStep?: (step: PublishStep, digest: string) => void | Promise<void>;
}
