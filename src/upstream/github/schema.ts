import { z } from 'zod';

/* Only the fields kiln uses; unknown fields pass through unchecked (GitHub adds them often). */

export const restRelease = z.object({
  tag_name: z.string(),
  name: z.string().nullish(),
  draft: z.boolean(),
  prerelease: z.boolean(),
  published_at: z.string().nullish(),
  created_at: z.string().nullish(),
  html_url: z.string().nullish(),
  assets: z.array(z.object({ name: z.string(), digest: z.string().nullish() })).optional(),
});
export const restReleases = z.array(restRelease);

export const restTags = z.array(
  z.object({ name: z.string(), commit: z.object({ sha: z.string() }).optional() }),
);

const releaseNode = z.object({
  tagName: z.string(),
  isPrerelease: z.boolean(),
  isDraft: z.boolean(),
  publishedAt: z.string().nullish(),
  url: z.string().nullish(),
});

const refNode = z.object({
  name: z.string(),
  target: z
    .object({
      committedDate: z.string().nullish(),
      tagger: z.object({ date: z.string().nullish() }).nullish(),
    })
    .nullish(),
});

/** One aliased `repository` field: releases or refs, depending on what was asked. */
export const graphqlRepository = z
  .object({
    releases: z.object({ nodes: z.array(releaseNode.nullable()) }).optional(),
    refs: z.object({ nodes: z.array(refNode.nullable()) }).nullish(),
  })
  .nullable();

export const graphqlError = z.object({
  type: z.string().optional(),
  message: z.string(),
  path: z.array(z.union([z.string(), z.number()])).optional(),
});

export const graphqlResponse = z.object({
  data: z.record(z.string(), z.unknown()).nullish(),
  errors: z.array(graphqlError).optional(),
});

export const rateLimitField = z.object({
  cost: z.number(),
  remaining: z.number(),
  resetAt: z.string(),
  limit: z.number().optional(),
});

export type GraphqlRepository = z.infer<typeof graphqlRepository>;
export type GraphqlError = z.infer<typeof graphqlError>;
