import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parser, type Token } from 'stream-json/parser.js';
import { PermanentError } from '../errors.ts';
import { BoundedValue, type ValueLimits } from './bounded-value.ts';
import { emptyFeed, refuse, type VulnFeed } from './model.ts';
import { parseCveEntry } from './tracker-entry.ts';

/*
 * The Debian Security Tracker's JSON (`/tracker/data/json`):
 * `{source: {CVE: {description, scope, debianbug, releases: {codename: {status, repositories,
 * fixed_version, urgency, nodsa, nodsa_reason}}}}}`, about 70 MB. Read as a token stream: the
 * whole document is never in memory, a source package not asked for is consumed without being
 * kept, and each CVE entry of a wanted package is built under limits and checked on its own, so
 * a bad entry is refused with its reason and the rest of the feed is still used.
 */

/** Limits for one CVE entry; the real feed's largest description is a few KiB. */
export const defaultEntryLimits: ValueLimits = {
  maxStringChars: 64 * 1024,
  maxKeyChars: 256,
  maxMembers: 1000,
  maxDepth: 4,
};

export interface ReadFeedOptions {
  /** Source packages to keep; undefined keeps every one (tests, small feeds). */
  wanted?: ReadonlySet<string>;
  limits?: ValueLimits;
  /** Names the feed in errors: a path or URL. */
  what?: string;
}

/** Reads a tracker feed from a byte stream. A feed that is not JSON at all is a PermanentError. */
export async function readTrackerFeed(
  input: Readable,
  options: ReadFeedOptions = {},
): Promise<VulnFeed> {
  const reader = new TrackerReader(options);
  const tokens = parser.asStream({ packValues: false, streamValues: true });
  let failed = false;
  tokens.on('data', (token: Token) => {
    if (failed) return;
    try {
      reader.push(token);
    } catch (error) {
      // A shape error ends the read: thrown out of a listener it would escape the pipeline.
      failed = true;
      tokens.destroy(error instanceof Error ? error : new Error(String(error)));
    }
  });
  try {
    await pipeline(input, tokens);
  } catch (cause) {
    if (cause instanceof PermanentError) throw cause;
    throw new PermanentError(
      `vulnerability feed ${options.what ?? ''}: not valid JSON (${cause instanceof Error ? cause.message : String(cause)})`,
      { cause },
    );
  }
  return reader.finish();
}

const cveId = /^(CVE-\d{4}-\d{4,}|TEMP-\d{7}-[0-9A-F]{6})$/;
const sourceName = /^[a-z0-9][a-z0-9+.-]+$/;

/**
 * The reader's position: outside the document (0), in the top object reading source keys (1), in a
 * source package's object reading CVE keys (2), after the document (3); a value being read (a CVE
 * entry, or a source package skipped whole) goes to `value` until it ends.
 */
class TrackerReader {
  readonly feed = emptyFeed();
  private depth: 0 | 1 | 2 | 3 = 0;
  private key = '';
  private keyTooLong = false;
  private source: string | undefined;
  /** A wanted source's key was read: its object must come next. */
  private sourceOpening = false;
  private value: BoundedValue | undefined;
  /** What `value` is: one CVE entry to check, or something consumed and dropped. */
  private valueIsCve = false;
  private readonly limits: ValueLimits;

  constructor(private readonly options: ReadFeedOptions) {
    this.limits = options.limits ?? defaultEntryLimits;
  }

  push(token: Token): void {
    if (this.value) {
      if (this.value.push(token)) this.valueDone(this.value);
      return;
    }
    if (this.sourceOpening) {
      this.sourceOpening = false;
      if (token.name === 'startObject') {
        this.depth = 2;
        return;
      }
      refuse(this.feed, this.source ?? '?', 'its value is not an object of CVE entries');
      this.startValue(false);
      this.push(token);
      return;
    }
    switch (token.name) {
      case 'startObject':
        if (this.depth !== 0) throw this.shapeError('an object where a key was expected');
        this.depth = 1;
        return;
      case 'endObject':
        if (this.depth === 2) {
          this.depth = 1;
          this.source = undefined;
        } else this.depth = 3;
        return;
      case 'startKey':
        this.key = '';
        this.keyTooLong = false;
        return;
      case 'stringChunk':
        if (this.key.length + token.value.length > this.limits.maxKeyChars) this.keyTooLong = true;
        else this.key += token.value;
        return;
      case 'endKey':
        this.afterKey();
        return;
      case 'whitespace':
        return;
      default:
        throw this.shapeError(
          this.depth === 0
            ? `the document is a ${token.name}, not an object`
            : `an unexpected ${token.name}`,
        );
    }
  }

  finish(): VulnFeed {
    if (this.depth !== 3) throw this.shapeError('the document ended early');
    return this.feed;
  }

  /** A key was read at depth 1 (a source package) or 2 (a CVE id): decide how to read its value. */
  private afterKey(): void {
    const key = this.keyTooLong ? `${this.key.slice(0, 40)}…` : this.key;
    if (this.depth === 1) {
      this.feed.sourcesSeen++;
      if (this.keyTooLong || !sourceName.test(key)) {
        refuse(
          this.feed,
          key,
          `not a Debian source package name${this.keyTooLong ? ' (too long)' : ''}`,
        );
        this.startValue(false);
        return;
      }
      if (this.options.wanted && !this.options.wanted.has(key)) {
        this.startValue(false);
        return;
      }
      this.source = key;
      this.sourceOpening = true;
      return;
    }
    if (this.keyTooLong || !cveId.test(key)) {
      refuse(this.feed, `${this.source ?? '?'} ${key}`, 'not a CVE id (CVE-YYYY-N… or TEMP-…)');
      this.startValue(false);
      return;
    }
    this.key = key;
    this.startValue(true);
  }

  private startValue(isCve: boolean): void {
    this.valueIsCve = isCve;
    this.value = new BoundedValue(this.limits, isCve);
  }

  private valueDone(value: BoundedValue): void {
    this.value = undefined;
    if (!this.valueIsCve || this.source === undefined) return;
    if (value.failure) {
      refuse(this.feed, `${this.source} ${this.key}`, `entry refused: ${value.failure}`);
      return;
    }
    parseCveEntry(this.feed, this.source, this.key, value.value);
  }

  private shapeError(what: string): PermanentError {
    return new PermanentError(
      `vulnerability feed ${this.options.what ?? ''}: not in the Security Tracker's shape ({source: {CVE: {releases…}}}): ${what}`,
    );
  }
}
