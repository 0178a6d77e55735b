import { z } from 'zod';

/** `GET /v2/<name>/tags/list` (OCI distribution spec). */
export const tagList = z.object({ name: z.string(), tags: z.array(z.string()).nullable() });

/** A token server's answer (distribution's token spec: `token`, or OAuth2's `access_token`). */
export const tokenResponse = z
  .object({ token: z.string().optional(), access_token: z.string().optional() })
  .refine((t) => t.token ?? t.access_token, 'no token in the answer');
