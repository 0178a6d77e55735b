import { z } from 'zod';

/** PyPI's JSON API project document: only the releases map is read. */
export const pypiProject = z.object({
  info: z.object({ name: z.string() }),
  releases: z.record(
    z.string(),
    z.array(
      z.object({
        filename: z.string(),
        upload_time_iso_8601: z.string().nullish(),
        yanked: z.boolean().optional(),
        digests: z.object({ sha256: z.string().optional() }).optional(),
      }),
    ),
  ),
});
