import { createPublicKey, verify } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBase64, pae, parseEnvelope, signEnvelope, verifyEnvelope } from './dsse.ts';
import { generateKeyPair, loadPrivateKey } from './keys.ts';
import { createSigner } from './signer.ts';

/** The test vector of the DSSE protocol specification (protocol.md, "Test Vectors"). */
const vector = {
  payloadType: 'http://example.com/HelloWorld',
  body: 'hello world',
  pae: 'DSSEv1 29 http://example.com/HelloWorld 11 hello world',
  x: 46950820868899156662930047687818585632848591499744589407958293238635476079160n,
  y: 5640078356564379163099075877009565129882514886557779369047442380624545832820n,
  sig: 'A3JqsQGtVsJ2O2xqrI5IcnXip5GToJ3F+FnZ+O88SjtR6rDAajabZKciJTfUiHqJPcIAriEGAHTVeCUjW2JIZA==',
};

function base64url(n: bigint): string {
  return Buffer.from(n.toString(16).padStart(64, '0'), 'hex').toString('base64url');
}

describe('DSSE', () => {
  it('encodes PAE exactly as the spec test vector', () => {
    expect(pae(vector.payloadType, Buffer.from(vector.body)).toString('utf8')).toBe(vector.pae);
  });

  it('accepts the spec test vector signature (raw r||s P-256) over our PAE', () => {
    const key = createPublicKey({
      key: { kty: 'EC', crv: 'P-256', x: base64url(vector.x), y: base64url(vector.y) },
      format: 'jwk',
    });
    const message = pae(vector.payloadType, Buffer.from(vector.body));
    expect(
      verify(
        'sha256',
        message,
        { key, dsaEncoding: 'ieee-p1363' },
        Buffer.from(vector.sig, 'base64'),
      ),
    ).toBe(true);
    expect(
      verify(
        'sha256',
        Buffer.from(vector.body),
        { key, dsaEncoding: 'ieee-p1363' },
        Buffer.from(vector.sig, 'base64'),
      ),
    ).toBe(false);
  });

  it('counts lengths in bytes, not characters', () => {
    expect(pae('t', Buffer.from('é')).toString('utf8')).toBe('DSSEv1 1 t 2 é');
  });

  it('signs and verifies envelopes; a changed payload or another key fails', () => {
    const signer = createSigner(loadPrivateKey(generateKeyPair().privatePem, undefined, 'test'));
    const other = createSigner(loadPrivateKey(generateKeyPair().privatePem, undefined, 'test'));
    const envelope = signEnvelope('application/vnd.in-toto+json', Buffer.from('{"a":1}'), signer);
    const parsed = parseEnvelope(Buffer.from(JSON.stringify(envelope)));
    expect(parsed).toBeDefined();
    expect(verifyEnvelope(parsed!, signer.publicKey)?.toString()).toBe('{"a":1}');
    expect(verifyEnvelope(parsed!, other.publicKey)).toBeUndefined();
    expect(
      verifyEnvelope(
        { ...parsed!, payload: Buffer.from('{"a":2}').toString('base64') },
        signer.publicKey,
      ),
    ).toBeUndefined();
    expect(
      verifyEnvelope({ ...parsed!, payloadType: 'application/json' }, signer.publicKey),
    ).toBeUndefined();
  });

  it('accepts URL-safe base64 as the spec requires', () => {
    expect(decodeBase64('-_8').equals(Buffer.from('+/8', 'base64'))).toBe(true);
  });
});
