/** What the publish job did: the index assembled, signed, attested and tagged. */
export interface PublishResult {
  recipe: string;
  version: string;
  repository: string;
  /** `sha256:…` of the image index. */
  digest: string;
  tags: string[];
  signed: boolean;
  attestations: string[];
  /** Whether anything was pushed (false: the registry already had this exact image). */
  changed: boolean;
  publishedAt: string;
}
