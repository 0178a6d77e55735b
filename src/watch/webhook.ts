import type { FastifyBaseLogger, FastifyPluginAsync, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { Config } from '../config.ts';
import { describeError } from '../errors.ts';
import type { Logger } from '../log.ts';
import { sameToken, verifyGithubSignature } from './signature.ts';
import type { Watcher } from './types.ts';

/** The part of a GitHub `release` or `create` event kiln reads. */
const githubEvent = z.object({
  action: z.string().optional(),
  ref_type: z.string().optional(),
  ref: z.string().optional(),
  repository: z.object({ full_name: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/) }),
});

const recipeParam = z.object({ recipe: z.string().regex(/^[a-z0-9]+(-[a-z0-9]+)*$/) });

/** Release actions that can bring a new version (not `deleted`/`unpublished`). */
const releaseActions = new Set(['published', 'released', 'prereleased', 'created', 'edited']);

/**
 * Webhook intake, as a Fastify plugin (register it unwrapped: its raw-body JSON parser must stay
 * in its own scope). `POST /hooks/github` checks X-Hub-Signature-256 against
 * config.githubWebhookSecret and, for `release` and tag `create` events, checks the recipes that
 * track the repository now. `POST /hooks/check/:recipe` does the same for any recipe, given
 * `Authorization: Bearer <config.apiToken>`. Both answer 202 at once; the check runs behind.
 */
export function webhookRoutes(watcher: Watcher, config: Config, log?: Logger): FastifyPluginAsync {
  return async (app) => {
    const logger = (log ?? app.log).child({ part: 'webhooks' });
    // GitHub signs the exact bytes it sent: keep them, parse afterwards.
    app.addContentTypeParser(
      ['application/json', 'application/x-www-form-urlencoded'],
      { parseAs: 'buffer', bodyLimit: 25 * 1024 * 1024 },
      (_req, body, done) => done(null, body),
    );
    const hook: Hook = { watcher, config, logger, background: backgroundChecks(watcher, logger) };
    app.post('/hooks/github', (request, reply) => githubHook(hook, request, reply));
    app.post('/hooks/check/:recipe', (request, reply) => checkHook(hook, request, reply));
  };
}

/** What both hooks use. */
interface Hook {
  watcher: Watcher;
  config: Config;
  logger: FastifyBaseLogger;
  /** Checks the recipes behind the answer; outcomes are only logged. */
  background: (names: string[]) => void;
}

function backgroundChecks(watcher: Watcher, logger: FastifyBaseLogger): (names: string[]) => void {
  return (names) => {
    for (const name of names) {
      watcher.checkNow(name).then(
        (outcome) => logger.debug({ recipe: name, ok: outcome.ok }, 'webhook check done'),
        (error: unknown) =>
          logger.warn({ recipe: name, error: describeError(error) }, 'webhook check failed'),
      );
    }
  };
}

/** `POST /hooks/github`: signed → a release or tag event → the recipes tracking its repository. */
async function githubHook(hook: Hook, request: FastifyRequest, reply: FastifyReply) {
  const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
  if (refusedSignature(hook, request, raw, reply)) return reply;
  const event = request.headers['x-github-event'];
  if (event === 'ping') return reply.code(200).send({ ok: true });
  if (event !== 'release' && event !== 'create')
    return reply.code(202).send({ ignored: `event ${String(event)}` });
  const payload = parseEvent(request, raw, reply);
  if (!payload) return reply;
  if (event === 'create' && payload.ref_type !== 'tag')
    return reply.code(202).send({ ignored: `create ${payload.ref_type ?? ''}` });
  if (event === 'release' && payload.action && !releaseActions.has(payload.action))
    return reply.code(202).send({ ignored: `release ${payload.action}` });
  const names = await hook.watcher.recipesTracking('github', payload.repository.full_name);
  hook.logger.info(
    {
      delivery: request.headers['x-github-delivery'],
      event,
      repository: payload.repository.full_name,
      recipes: names,
    },
    'GitHub webhook: checking now',
  );
  hook.background(names);
  return reply.code(202).send({ checking: names });
}

/** Answers 401 (and says so) unless the body carries a good X-Hub-Signature-256. */
function refusedSignature(
  hook: Hook,
  request: FastifyRequest,
  raw: Buffer,
  reply: FastifyReply,
): boolean {
  const secret = hook.config.githubWebhookSecret;
  const delivery = request.headers['x-github-delivery'];
  if (!secret) {
    hook.logger.warn(
      { delivery, ip: request.ip },
      'GitHub webhook refused: KILN_GITHUB_WEBHOOK_SECRET is not set',
    );
    void reply.code(401).send({ error: 'webhooks are disabled: no secret configured' });
    return true;
  }
  const signature = request.headers['x-hub-signature-256'];
  if (verifyGithubSignature(secret, raw, typeof signature === 'string' ? signature : undefined))
    return false;
  hook.logger.warn(
    { delivery, ip: request.ip, signed: signature !== undefined },
    'GitHub webhook refused: bad or missing signature',
  );
  void reply.code(401).send({ error: 'bad or missing X-Hub-Signature-256' });
  return true;
}

/** The event's payload (JSON, or form-encoded `payload=`), or undefined after answering 400. */
function parseEvent(
  request: FastifyRequest,
  raw: Buffer,
  reply: FastifyReply,
): z.infer<typeof githubEvent> | undefined {
  let text = raw.toString('utf8');
  if (request.headers['content-type']?.startsWith('application/x-www-form-urlencoded'))
    text = new URLSearchParams(text).get('payload') ?? '';
  let parsed;
  try {
    parsed = githubEvent.safeParse(JSON.parse(text));
  } catch {
    void reply.code(400).send({ error: 'malformed JSON payload' });
    return undefined;
  }
  if (parsed.success) return parsed.data;
  void reply.code(400).send({ error: 'payload lacks repository.full_name' });
  return undefined;
}

/** `POST /hooks/check/:recipe`: with the API token, checks one known recipe now. */
async function checkHook(hook: Hook, request: FastifyRequest, reply: FastifyReply) {
  const { config, logger } = hook;
  const bearer = /^Bearer\s+(.+)$/i.exec(request.headers.authorization ?? '')?.[1];
  if (!config.apiToken || !bearer || !sameToken(bearer, config.apiToken)) {
    logger.warn(
      { ip: request.ip, hasToken: bearer !== undefined },
      'check hook refused: bad or missing bearer token',
    );
    return reply.code(401).send({ error: 'bad or missing bearer token' });
  }
  const params = recipeParam.safeParse(request.params);
  if (!params.success) return reply.code(400).send({ error: 'bad recipe name' });
  if (!(await hook.watcher.hasRecipe(params.data.recipe)))
    return reply.code(404).send({ error: `no recipe named ${params.data.recipe}` });
  hook.background([params.data.recipe]);
  return reply.code(202).send({ checking: [params.data.recipe] });
}
