import type { KeyObject } from 'node:crypto';
import { z } from 'zod';
import type { Signer } from './signer.ts';
import { verifySignature } from './signer.ts';

export const inTotoPayloadType = 'application/vnd.in-toto+json';

/** The DSSE JSON envelope (secure-systems-lab/dsse envelope.md). */
export interface DsseEnvelope {
  payloadType: string;
  /** Base64 of the serialized body. */
  payload: string;
  signatures: { keyid?: string; sig: string }[];
}

const envelopeSchema = z.object({
  payloadType: z.string(),
  payload: z.string(),
  signatures: z.array(z.object({ keyid: z.string().optional(), sig: z.string() })),
});

/**
 * DSSE's Pre-Authentication Encoding: `DSSEv1 SP LEN(type) SP type SP LEN(body) SP body`, lengths
 * in ASCII decimal bytes. The signature covers this, never the bare payload.
 */
export function pae(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, 'utf8');
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `),
    type,
    Buffer.from(` ${body.byteLength} `),
    Buffer.from(body),
  ]);
}

export function signEnvelope(payloadType: string, body: Uint8Array, signer: Signer): DsseEnvelope {
  return {
    payloadType,
    payload: Buffer.from(body).toString('base64'),
    signatures: [{ keyid: '', sig: signer.sign(pae(payloadType, body)).toString('base64') }],
  };
}

export function parseEnvelope(bytes: Uint8Array): DsseEnvelope | undefined {
  try {
    const parsed = envelopeSchema.safeParse(JSON.parse(Buffer.from(bytes).toString('utf8')));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Base64 or URL-safe base64, both of which DSSE verifiers must accept. */
export function decodeBase64(value: string): Buffer {
  return Buffer.from(value.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}

/** The envelope's body when at least one signature over its PAE verifies with `publicKey`. */
export function verifyEnvelope(envelope: DsseEnvelope, publicKey: KeyObject): Buffer | undefined {
  const body = decodeBase64(envelope.payload);
  const message = pae(envelope.payloadType, body);
  const ok = envelope.signatures.some((s) =>
    verifySignature(publicKey, message, decodeBase64(s.sig)),
  );
  return ok ? body : undefined;
}
