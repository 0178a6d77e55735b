/** OpenVEX's `@context`: the version of the document format kiln writes and verifies. */
export const openVexContext = 'https://openvex.dev/ns/v0.2.0';
/**
 * The in-toto predicate type of an OpenVEX attestation: cosign's `--type openvex` is the
 * unversioned namespace (`cosign verify-attestation --type openvex` matches only it); the
 * document's own `@context` carries the version.
 */
export const openVexPredicateType = 'https://openvex.dev/ns';
