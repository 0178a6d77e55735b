import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import {
  describeError,
  isPermanent,
  isTransient,
  PermanentError,
  TransientError,
} from '../errors.ts';
import { maskSecrets } from '../log.ts';

/*
 * A job's failure as it crosses from a job's child process to its worker: BullMQ copies an
 * error's own fields over IPC (errorToJSON), so the child states the kind of failure as a field
 * and the worker turns it back into kiln's error classes. The message is masked on both sides.
 */

/** The fields a child process's failure carries, as the worker reads them. */
const ChildFailure = z.object({
  message: z.string(),
  kiln: z.enum(['permanent', 'transient']).optional(),
  retryAfterMs: z.number().optional(),
});

/** In the child: the error to throw, with its kind and its causes in the message. */
export function failureForParent(error: unknown): Error {
  const failure = new Error(maskSecrets(describeError(error)));
  if (isPermanent(error) || error instanceof UnrecoverableError)
    return Object.assign(failure, { kiln: 'permanent' });
  if (isTransient(error))
    return Object.assign(failure, {
      kiln: 'transient',
      ...(error.retryAfterMs === undefined ? {} : { retryAfterMs: error.retryAfterMs }),
    });
  return failure;
}

/** In the worker: a child's failure as kiln's error class; a crash becomes a plain (retried) error. */
export function failureFromChild(error: unknown, what: string): Error {
  const parsed = ChildFailure.safeParse(error);
  if (!parsed.success) return new Error(`${what}: ${describeError(error)}`);
  const { message, kiln, retryAfterMs } = parsed.data;
  if (kiln === 'permanent') return new PermanentError(message);
  if (kiln === 'transient')
    return new TransientError(message, retryAfterMs === undefined ? {} : { retryAfterMs });
  // BullMQ's words when the child exits mid-job: a native crash, an OOM abort, a kill.
  if (message.startsWith('Unexpected exit code'))
    return new Error(`${what}: its child process died (${message.toLowerCase()})`);
  return new Error(message);
}

/** The error with registered secrets masked in its message and stack, its class kept for backoff. */
export function maskedError(error: unknown): Error {
  if (!(error instanceof Error)) return new Error(maskSecrets(String(error)));
  error.message = maskSecrets(error.message);
  if (error.stack) error.stack = maskSecrets(error.stack);
  return error;
}
