/**
 * The two kinds of failure kiln knows. Control flow switches on the class, never on a message:
 * a permanent error fails the job at once, a transient one is retried with backoff.
 */
export class KilnError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Bad input that no retry can fix: a broken recipe, a checksum mismatch, a bad signature. */
export class PermanentError extends KilnError {
  readonly permanent = true;
}

/** A failure that may pass: a 5xx, a timeout, a rate limit. `retryAfterMs` honours Retry-After. */
export class TransientError extends KilnError {
  readonly transient = true;
  constructor(message: string, options?: { cause?: unknown; retryAfterMs?: number }) {
    super(message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
  readonly retryAfterMs: number | undefined;
}

export function isPermanent(error: unknown): error is PermanentError {
  return error instanceof PermanentError;
}

export function isTransient(error: unknown): error is TransientError {
  return error instanceof TransientError;
}

/** The message of an error and its causes, one per line: what a person needs to act on. */
export function describeError(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current !== undefined && depth < 5; depth++) {
    if (current instanceof Error) {
      parts.push(current.message);
      current = current.cause;
    } else {
      parts.push(String(current));
      break;
    }
  }
  return parts.join(': ');
}
