import { z } from 'zod';

/** A full packument: only what kiln reads (abbreviated metadata has no publish times). */
export const packument = z.object({
  name: z.string(),
  'dist-tags': z.record(z.string(), z.string()).optional(),
  versions: z.record(
    z.string(),
    z.object({
      version: z.string(),
      deprecated: z.unknown().optional(),
      dist: z
        .object({
          tarball: z.string().optional(),
          integrity: z.string().optional(),
          shasum: z.string().optional(),
        })
        .optional(),
    }),
  ),
  time: z.record(z.string(), z.string()).optional(),
});
