import { z } from 'zod';

/** `@v/<version>.info` from a module proxy. */
export const versionInfo = z.object({ Version: z.string(), Time: z.string().optional() });
