/** What the publish job did: the index assembled, signed, attested and tagged. */
export interface PublishResult {
  recipe: string;
  version: string;
  repository: string;
  /** `sha256:…` of the image index. */
  digest: string;
  tags: string[];
  /**
   * The immutable build tag `X.Y.Z-rN-<yyyymmddhhmm>` (a variant's suffix after it), never moved;
   * absent when the exact tag already pointed at this complete image (its build tag is older).
   */
  buildTag?: string | undefined;
  signed: boolean;
  attestations: string[];
  /** Whether anything was pushed (false: the registry already had this exact image). */
  changed: boolean;
  publishedAt: string;
}
