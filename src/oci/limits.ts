const MiB = 1024 * 1024;

/**
 * How much kiln reads from a registry before it refuses, so a hostile or broken registry cannot
 * exhaust memory. The body sizes are containers/image's (`internal/iolimits`: manifests,
 * signatures and configs 4 MiB, token and error bodies 1 MiB); attestations follow cosign, which
 * caps an attachment at 128 MiB since CVE-2024-29902, and layer counts the 1,000 cosign allows
 * since CVE-2024-29903.
 */
export const Limits = {
  /** A manifest or index (`GET /v2/…/manifests/…`), signature and attestation manifests included. */
  manifestBytes: 4 * MiB,
  /** A simple-signing payload. */
  signatureBytes: 4 * MiB,
  /** An image config. */
  configBytes: 4 * MiB,
  /** One attestation layer (a DSSE envelope, a Sigstore bundle): SBOMs can be large. */
  attestationBytes: 128 * MiB,
  /** A bearer-token answer. */
  tokenBytes: 1 * MiB,
  /** One page of `tags/list`. */
  tagListBytes: 4 * MiB,
  /** What of an error body is kept for the message; the rest is not read. */
  errorBodyBytes: 64 * 1024,
  /** Layers of one image manifest, and manifests of one index. */
  layers: 1000,
  /** The size a descriptor may declare for one blob. */
  blobBytes: 16 * 1024 * MiB,
} as const;

/** `4 MiB`, `128 MiB`, `512 KiB`: a limit as a person reads it. */
export function formatBytes(n: number): string {
  if (n >= MiB && n % MiB === 0) return `${n / MiB} MiB`;
  if (n >= 1024 && n % 1024 === 0) return `${n / 1024} KiB`;
  return `${n} bytes`;
}
