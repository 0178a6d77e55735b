import { z } from 'zod';
import { lockfileSchema, type Lockfile } from '../../debian/lockfile.ts';
import { PermanentError } from '../../errors.ts';
import type { DebianResolved, Resolved } from '../../model/resolved.ts';

/**
 * What the debian builder reads back from {@link Resolved} (it rode through Redis in the build
 * request): per arch, the answer of its own `resolve()`.
 */
export const debianResolvedSchema = z.record(
  z.string(),
  z.object({
    arch: z.string(),
    lockfile: lockfileSchema,
    lockfileDigest: z.string().optional(),
  }) satisfies z.ZodType<DebianResolved>,
);

/** The lockfile of each arch the planner resolved; empty when the build is to resolve them. */
export function lockfilesFrom(
  resolved: Resolved | undefined,
  recipe: string,
): Map<string, Lockfile> {
  if (!resolved) return new Map();
  const parsed = debianResolvedSchema.safeParse(resolved);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new PermanentError(
      `recipe ${recipe}: the build request's resolved inputs are not the debian builder's (${issue?.path.join('.') ?? '?'}: ${issue?.message ?? 'invalid'})`,
    );
  }
  return new Map(Object.values(parsed.data).map((r) => [r.arch, r.lockfile]));
}
