import { z } from 'zod';

/** One line of a crate's sparse-index file. `pubtime` is only on newer entries. */
export const indexLine = z.object({
  name: z.string(),
  vers: z.string(),
  cksum: z.string().optional(),
  yanked: z.boolean().optional(),
  pubtime: z.string().optional(),
});
