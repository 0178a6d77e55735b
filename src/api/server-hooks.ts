import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';

const pathOf = (request: FastifyRequest) => request.url.split('?')[0];

/*
 * Request logging is kiln's own (Fastify's is off) so that query strings, which may hold the
 * dashboard token, never reach the logs: an onResponse hook logging the path alone.
 */
export function logRequest(log: Logger) {
  return async function onResponse(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    log.debug(
      {
        method: request.method,
        path: pathOf(request),
        status: reply.statusCode,
        ms: Math.round(reply.elapsedTime),
      },
      'request',
    );
  };
}

/** The one error handler: `{ error }` with the error's status (500 when it has none), 5xx logged. */
export function replyWithError(log: Logger) {
  return async function onError(error: unknown, request: FastifyRequest, reply: FastifyReply) {
    const status =
      typeof error === 'object' &&
      error !== null &&
      'statusCode' in error &&
      typeof error.statusCode === 'number'
        ? error.statusCode
        : 500;
    if (status >= 500) log.error({ err: error, path: pathOf(request) }, 'request failed');
    return reply.code(status).send({
      error: status >= 500 ? `internal error: ${describeError(error)}` : describeError(error),
    });
  };
}
