import { createHash } from 'node:crypto';

/*
 * Every Redis key kiln writes besides BullMQ's own, in one table (as BullMQ keeps its keys in
 * `QueueKeys`). All start with the queue prefix P (KILN_QUEUE_PREFIX), so on a Cluster, where P is
 * a hash tag (`{kiln}`), every key lands in one slot (src/queue/prefix.ts).
 *
 * | key                                   | type        | written by                    |
 * | ------------------------------------- | ----------- | ----------------------------- |
 * | P:build:…, P:publish:…                | BullMQ      | BullMQ (queue names.ts)       |
 * | P:catalog:images                      | sorted set  | catalog: image names by time  |
 * | P:catalog:revision                    | counter     | catalog: bumped on any change |
 * | P:catalog:<recipe>:versions/tags      | hash        | catalog                       |
 * | P:catalog:<recipe>:history            | list        | catalog: publishes, newest 1st|
 * | P:catalog:<recipe>:upstream           | hash        | catalog: version → release    |
 * | P:catalog:<recipe>:cves               | hash        | vuln scan: version tag → CVEs |
 * | P:catalog:<recipe>:fix-pending        | hash        | vuln scan: fixable since when |
 * | P:catalog:<recipe>:time-to-fix        | hash        | vuln scan: CVE fix durations  |
 * | P:catalog:derived-from-registry       | string      | catalog restore marker        |
 * | P:signals:checks / rate-limit         | hash        | watcher, read by /metrics     |
 * | P:signals:reconcile                   | hash        | reconcile cycle, /metrics     |
 * | P:upstream:<sha256 of request>        | string, TTL | upstream validator cache      |
 * | P:attempt:<publish job id>            | string, TTL | attempt hint (queue/attempts) |
 * | P:lockfiles:<recipe>:<stream>         | hash        | nano-update memory            |
 * | P:first-seen:<recipe>                 | hash        | first-seen release stamps     |
 * | P:debian-suite:<mirror>:<suite>       | string      | suite trigger: InRelease state|
 */

/** The keys under `prefix`; recipe-scoped ones take the recipe name. */
export function redisKeys(prefix: string) {
  return {
    catalog: {
      images: `${prefix}:catalog:images`,
      revision: `${prefix}:catalog:revision`,
      derivedFromRegistry: `${prefix}:catalog:derived-from-registry`,
      /** A SCAN MATCH glob of every catalog key, for a full reset. */
      everything: `${prefix}:catalog:*`,
      of: (recipe: string) => ({
        versions: `${prefix}:catalog:${recipe}:versions`,
        tags: `${prefix}:catalog:${recipe}:tags`,
        history: `${prefix}:catalog:${recipe}:history`,
        upstream: `${prefix}:catalog:${recipe}:upstream`,
        /** `<version>-r<epoch>` → the CVE summary of that image (src/catalog/cves.ts). */
        cves: `${prefix}:catalog:${recipe}:cves`,
        /** `<stream> <CVE>` → since when a fix was available and the image still lacked it. */
        fixPending: `${prefix}:catalog:${recipe}:fix-pending`,
        /** `<stream> <CVE> <version tag>` → how long that fix took to reach a tagged image. */
        timeToFix: `${prefix}:catalog:${recipe}:time-to-fix`,
      }),
    },
    signals: {
      checks: `${prefix}:signals:checks`,
      rateLimit: `${prefix}:signals:rate-limit`,
      reconcile: `${prefix}:signals:reconcile`,
    },
    /** `hash` is a digest of the conditional request, never the URL itself (it may carry a token). */
    upstreamValidator: (hash: string) => `${prefix}:upstream:${hash}`,
    attemptHint: (publishJobId: string) => `${prefix}:attempt:${publishJobId}`,
    lockfiles: (recipe: string, stream: string) => `${prefix}:lockfiles:${recipe}:${stream}`,
    firstSeen: (recipe: string) => `${prefix}:first-seen:${recipe}`,
    /** The validators of a suite's InRelease the watcher's suite trigger last saw. */
    /** The mirror only as a digest: a mirror URL may carry a password, which never goes to Redis. */
    debianSuite: (mirror: string, suite: string) =>
      `${prefix}:debian-suite:${createHash('sha256').update(mirror).digest('hex').slice(0, 32)}:${suite}`,
  };
}
