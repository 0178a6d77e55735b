import { z } from 'zod';

export const simpleSigningType = 'cosign container image signature';

/**
 * The simple-signing payload cosign signs. containers/image rejects unknown keys, so the object
 * has exactly these keys, in the order cosign writes them.
 */
export function simpleSigningPayload(
  dockerReference: string,
  manifestDigest: string,
  optional: Record<string, string> | null = null,
): Buffer {
  return Buffer.from(
    JSON.stringify({
      critical: {
        identity: { 'docker-reference': dockerReference },
        image: { 'docker-manifest-digest': manifestDigest },
        type: simpleSigningType,
      },
      optional,
    }),
  );
}

const payloadSchema = z.strictObject({
  critical: z.strictObject({
    identity: z.strictObject({ 'docker-reference': z.string() }),
    image: z.strictObject({ 'docker-manifest-digest': z.string() }),
    type: z.string(),
  }),
  optional: z.record(z.string(), z.unknown()).nullable().optional(),
});

export type SimpleSigningPayload = z.infer<typeof payloadSchema>;

/** Parses a payload strictly, as containers/image does; undefined when it is not one. */
export function parseSimpleSigning(bytes: Uint8Array): SimpleSigningPayload | undefined {
  try {
    const parsed = payloadSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
