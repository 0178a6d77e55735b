import type { Token } from 'stream-json/parser.js';

/*
 * Builds one JSON value from stream-json's tokens (strings, keys and numbers arriving in chunks)
 * with limits on every part, so that a hostile entry (a 50 MB description, a million keys, deep
 * nesting) costs what the limit allows and no more. Past a limit the value is still consumed to
 * its end, but nothing more is kept: the caller refuses that entry and reads on.
 */

export interface ValueLimits {
  /** Longest string value, in UTF-16 units. */
  maxStringChars: number;
  /** Longest object key. */
  maxKeyChars: number;
  /** Most members of one object or elements of one array. */
  maxMembers: number;
  /** Deepest nesting, the value itself at depth 1. */
  maxDepth: number;
}

/** Objects are built as Maps (no prototype to pollute with `__proto__`), made plain at the end. */
type Container =
  | { kind: 'object'; value: Map<string, unknown>; key: string | undefined; n: number }
  | { kind: 'array'; value: unknown[]; n: number };

/** A value under construction; `push` each token until it returns true. */
export class BoundedValue {
  /** Set when a limit was passed: the entry is to be refused with this reason. */
  failure: string | undefined;
  value: unknown;
  private readonly stack: Container[] = [];
  private text = '';
  private textKind: 'key' | 'string' | 'number' | undefined;
  private done = false;

  /** `keep: false` consumes a value without keeping any of it (a package not asked for). */
  constructor(
    private readonly limits: ValueLimits,
    private readonly keep = true,
  ) {}

  /** Takes one token; true once the value is complete. */
  push(token: Token): boolean {
    if (this.done) throw new Error('BoundedValue: token after the end of the value');
    switch (token.name) {
      case 'startObject':
      case 'startArray':
        this.open(token.name === 'startObject' ? 'object' : 'array');
        return false;
      case 'endObject':
      case 'endArray':
        return this.close();
      case 'startKey':
        this.textKind = 'key';
        this.text = '';
        return false;
      case 'startString':
        this.textKind = 'string';
        this.text = '';
        return false;
      case 'startNumber':
        this.textKind = 'number';
        this.text = '';
        return false;
      case 'stringChunk':
      case 'numberChunk':
        this.chunk(token.value);
        return false;
      case 'endKey': {
        const top = this.stack.at(-1);
        if (top?.kind === 'object') top.key = this.text;
        this.textKind = undefined;
        this.text = '';
        return false;
      }
      case 'endString':
      case 'endNumber': {
        const raw = this.text;
        this.textKind = undefined;
        this.text = '';
        return this.scalar(token.name === 'endNumber' ? Number(raw) : raw);
      }
      case 'keyValue': {
        // Only with packed keys; checked like a streamed one.
        this.textKind = 'key';
        this.text = '';
        this.chunk(token.value);
        return this.push({ name: 'endKey' });
      }
      case 'stringValue':
        // Packed values (the parser's other mode) arrive whole, checked like streamed ones.
        this.textKind = 'string';
        this.text = '';
        this.chunk(token.value);
        return this.push({ name: 'endString' });
      case 'numberValue':
        return this.scalar(Number(token.value));
      case 'nullValue':
      case 'trueValue':
      case 'falseValue':
        return this.scalar(token.value);
      case 'whitespace':
        return false;
    }
  }

  private get keeping(): boolean {
    return this.keep && this.failure === undefined;
  }

  private fail(reason: string): void {
    this.failure ??= reason;
    this.text = '';
  }

  private chunk(value: string): void {
    if (!this.keeping) return;
    const max = this.textKind === 'key' ? this.limits.maxKeyChars : this.limits.maxStringChars;
    if (this.text.length + value.length > max) {
      this.fail(
        this.textKind === 'key'
          ? `a key longer than ${max} characters (${this.path()})`
          : `a ${this.textKind ?? 'string'} value longer than ${max} characters at ${this.path()}`,
      );
      return;
    }
    this.text += value;
  }

  private open(kind: 'object' | 'array'): void {
    if (this.stack.length >= this.limits.maxDepth && this.keeping)
      this.fail(`nested deeper than ${this.limits.maxDepth} levels at ${this.path()}`);
    this.stack.push(
      kind === 'object'
        ? { kind, value: new Map(), key: undefined, n: 0 }
        : { kind, value: [], n: 0 },
    );
  }

  private close(): boolean {
    const top = this.stack.pop();
    // Object.fromEntries defines own properties: a `__proto__` key stays a plain key.
    return this.scalar(top?.kind === 'object' ? Object.fromEntries(top.value) : top?.value);
  }

  /** Places a finished value (scalar or container) in its parent; true when it was the root. */
  private scalar(value: unknown): boolean {
    const parent = this.stack.at(-1);
    if (!parent) {
      this.value = this.keeping ? value : undefined;
      this.done = true;
      return true;
    }
    if (!this.keeping) return false;
    if (++parent.n > this.limits.maxMembers) {
      this.fail(`more than ${this.limits.maxMembers} members at ${this.path()}`);
      return false;
    }
    if (parent.kind === 'array') parent.value.push(value);
    else if (parent.key !== undefined) parent.value.set(parent.key, value);
    return false;
  }

  /** `releases.trixie.fixed_version`: where in the entry a limit was passed. */
  private path(): string {
    const parts = this.stack.map((c) => (c.kind === 'object' ? (c.key ?? '') : String(c.n)));
    return parts.filter((p) => p !== '').join('.') || 'the top';
  }
}
