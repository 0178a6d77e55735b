import { z } from 'zod';
import { PermanentError } from '../../errors.ts';
import type { DockerfileResolved, Resolved } from '../../model/resolved.ts';

/**
 * What the dockerfile builder reads back from the build request's `resolved`: per arch, its own `resolve()`
 * answer. Only `bases` is read; `network` is there for the inputs digest.
 */
export const dockerfileResolvedSchema = z.record(
  z.string(),
  z.object({ bases: z.record(z.string(), z.string()) }) satisfies z.ZodType<
    Pick<DockerfileResolved, 'bases'>
  >,
);

/** The base digests the planner resolved (the same for every arch: they name indexes). */
export function pinnedBases(
  resolved: Resolved | undefined,
  recipe: string,
): Record<string, string> | undefined {
  const parsed = dockerfileResolvedSchema.safeParse(resolved ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PermanentError(
      `recipe ${recipe}: the build request's resolved inputs are not the dockerfile builder's (${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'})`,
    );
  }
  return Object.values(parsed.data)[0]?.bases;
}
