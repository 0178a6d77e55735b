import { z } from 'zod';

export const statementType = 'https://in-toto.io/Statement/v1';

export const PredicateType = {
  spdx: 'https://spdx.dev/Document',
  slsaProvenance: 'https://slsa.dev/provenance/v1',
  cyclonedx: 'https://cyclonedx.org/bom',
} as const;

export interface ResourceDescriptor {
  name?: string;
  uri?: string;
  digest: Record<string, string>;
}

/** An in-toto Statement v1: the subject (the image digest) and a typed predicate about it. */
export interface Statement<P = unknown> {
  _type: typeof statementType;
  subject: ResourceDescriptor[];
  predicateType: string;
  predicate: P;
}

export function statement<P>(
  subjectName: string,
  digest: string,
  predicateType: string,
  predicate: P,
): Statement<P> {
  const [algorithm, hex] = digest.split(':');
  return {
    _type: statementType,
    subject: [{ name: subjectName, digest: { [algorithm ?? 'sha256']: hex ?? '' } }],
    predicateType,
    predicate,
  };
}

const statementSchema = z.object({
  _type: z.string(),
  subject: z
    .array(z.object({ name: z.string().optional(), digest: z.record(z.string(), z.string()) }))
    .min(1),
  predicateType: z.string(),
  predicate: z.unknown(),
});

export type ParsedStatement = z.infer<typeof statementSchema>;

export function parseStatement(bytes: Uint8Array): ParsedStatement | undefined {
  try {
    const parsed = statementSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Whether any subject of the statement is the image `digest` (`sha256:…`). */
export function coversDigest(s: ParsedStatement, digest: string): boolean {
  const [algorithm, hex] = digest.split(':');
  return s.subject.some((sub) => algorithm !== undefined && sub.digest[algorithm] === hex);
}
