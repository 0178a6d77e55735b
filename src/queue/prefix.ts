/**
 * Every kiln key, BullMQ's and kiln's own (catalog, caches, counters), starts with the queue
 * prefix. On a Redis Cluster the prefix is a hash tag (`{kiln}`), so every key hashes to one slot:
 * BullMQ's flows move jobs between the build and publish queues inside one Lua script, and the
 * catalog writes several keys in one MULTI, both of which a cluster only allows within a slot.
 */

/** A prefix of plain key characters, or a hash tag `{…}` optionally followed by more of them. */
export const prefixPattern = /^(\{[A-Za-z0-9:_-]+\})?[A-Za-z0-9:_-]*$/;

/** Whether `prefix` starts with a hash tag, so that every key under it lands in one slot. */
export function isHashTagged(prefix: string): boolean {
  return /^\{[^{}]+\}/.test(prefix);
}

/** `kiln` → `{kiln}`; a prefix that already starts with a hash tag is kept as it is. */
export function hashTagged(prefix: string): string {
  return isHashTagged(prefix) ? prefix : `{${prefix}}`;
}
