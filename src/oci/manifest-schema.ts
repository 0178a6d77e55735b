import { z } from 'zod';
import { PermanentError } from '../errors.ts';
import { formatBytes, Limits } from './limits.ts';
import type { Descriptor, ImageIndex, ImageManifest } from './media-types.ts';

/** An OCI descriptor, checked where a manifest or index is read (kiln's own layouts included). */
export const descriptorSchema = z.object({
  mediaType: z.string(),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
  size: z
    .number()
    .int()
    .nonnegative()
    .max(Limits.blobBytes, `a descriptor may declare at most ${formatBytes(Limits.blobBytes)}`),
  annotations: z.record(z.string(), z.string()).optional(),
  platform: z
    .object({ architecture: z.string(), os: z.string(), variant: z.string().optional() })
    .optional(),
  artifactType: z.string().optional(),
});

const manifestSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  artifactType: z.string().optional(),
  config: descriptorSchema,
  layers: z
    .array(descriptorSchema)
    .max(Limits.layers, `more than ${Limits.layers} layers; kiln reads at most ${Limits.layers}`),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

const indexSchema = z.object({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  manifests: z
    .array(descriptorSchema)
    .max(
      Limits.layers,
      `more than ${Limits.layers} manifests; kiln reads at most ${Limits.layers}`,
    ),
  subject: descriptorSchema.optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});

/**
 * Lenient partial schemas for code that reads a few fields of a layout's own documents (a builder's
 * output, a base image it copied in) and lets everything else through.
 */
const layerRef = z.object({
  mediaType: z.string(),
  digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
});

export const LayoutSchema = {
  /** A layer named by digest, for reading it: media type and digest only. */
  layerRef,
  /** The entries of an image index (the layout's `index.json`, or a nested index). */
  index: z.object({ manifests: z.array(descriptorSchema) }),
  /** The config and layers of an image manifest. */
  manifest: z.object({ config: descriptorSchema, layers: z.array(descriptorSchema) }),
  /** Only the layers of a manifest, each read by digest; at most {@link Limits.layers}. */
  manifestLayers: z.object({
    layers: z.array(layerRef).max(Limits.layers, `more than ${Limits.layers} layers`),
  }),
};

/** A descriptor as {@link descriptorSchema} reads it. */
export type ParsedDescriptor = z.infer<typeof descriptorSchema>;

export type ParsedManifest = Omit<ImageManifest, 'mediaType'> & { mediaType?: string };
export type ParsedIndex = Omit<ImageIndex, 'mediaType'> & { mediaType?: string };

function parseJson(bytes: Uint8Array, what: string): unknown {
  try {
    return JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch (error) {
    throw new PermanentError(`${what}: not JSON`, { cause: error });
  }
}

/** Parses an image manifest read from a registry or layout; only the fields kiln uses are checked. */
export function parseManifest(bytes: Uint8Array, what: string): ParsedManifest {
  const parsed = manifestSchema.safeParse(parseJson(bytes, what));
  if (!parsed.success)
    throw new PermanentError(
      `${what}: not an image manifest (${parsed.error.issues[0]?.message ?? 'invalid'})`,
    );
  return parsed.data satisfies { layers: Descriptor[] };
}

export function parseIndex(bytes: Uint8Array, what: string): ParsedIndex {
  const parsed = indexSchema.safeParse(parseJson(bytes, what));
  if (!parsed.success)
    throw new PermanentError(
      `${what}: not an image index (${parsed.error.issues[0]?.message ?? 'invalid'})`,
    );
  return parsed.data;
}

/** Annotations of a manifest or index, whichever the bytes are. */
export function annotationsOf(bytes: Uint8Array): Record<string, string> {
  try {
    const value = JSON.parse(Buffer.from(bytes).toString('utf8')) as { annotations?: unknown };
    const parsed = z.record(z.string(), z.string()).safeParse(value.annotations);
    return parsed.success ? parsed.data : {};
  } catch {
    return {};
  }
}
