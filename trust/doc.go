// Package trust is content trust for a registry: it finds an artifact's
// signatures, verifies them offline against a trust store, decides pulls
// with a per-project policy, and signs artifacts.
//
// Unlike Harbor, which only checks that some signature accessory exists,
// trust lets a pull through only when a signature is cryptographically
// valid, is over the artifact's digest, and was made by a signer the
// project trusts.
//
// The pieces, each usable alone:
//
//   - Discover finds signatures through a Source (Registry speaks the
//     distribution API; give it registry.Registry.Transport): cosign's
//     sha256-<hex>.sig tag (simple-signing layers), cosign's OCI 1.1
//     referrers, sigstore v0.3 bundles with a DSSE envelope (cosign v3),
//     and Notation signatures (JWS and COSE envelopes). Every read is
//     bounded and checked against its digest.
//   - Verify checks them, with no transparency log and no network: cosign
//     key signatures (ECDSA, Ed25519, RSA public keys) with sigstore's
//     signature package, checking the payload's digest and type claims;
//     Notation envelopes with notation-go's verifier over the store's
//     certificates (revocation checks off unless VerifyOptions.Revocation
//     is set). Public keys of the trust store verify cosign signatures;
//     certificates (signing certificates or CAs) verify Notation ones.
//     Keyless (certificate plus Rekor) cosign signatures are not verified
//     offline and are refused with that reason; so are Notation signatures
//     whose certificate expired, since no TSA trust store is configured.
//   - Evaluate is the policy, a pure function: (artifact, verified
//     signatures, Policy) → Decision with a reason a person can read.
//     Modes: off, any (a signer of the trust store) and signers (named
//     entries, key IDs or certificate subjects); formats cosign, notation
//     or either.
//   - Store keeps trust stores (the system's, which every project
//     trusts, and one per project) and policies (a system default and one
//     per project) in SQL, with an exact in-memory view for the gate.
//   - Gate is a registry.PullGate (412 with the reason when the policy
//     refuses) and a registry.EventSink. Signatures and anything with a
//     subject always pass, so clients can fetch and verify them (cosign's
//     tag-scheme signature manifests are recognised by tag and, pulled by
//     digest, by their layers). WithExemption lets the integrator exempt
//     callers, such as those who may push the repository. Decisions
//     are cached per (repository, digest, policy version): pushing or
//     deleting a signature drops its subject's decision, and any change of
//     a trust store or policy changes the version.
//   - SignCosign and SignNotation sign artifacts in a registry, in the
//     forms `cosign verify --key` and notation-go's verifier (and so
//     `notation verify`) accept.
//
// Wiring it in front of a registry:
//
//	store, _ := trust.NewStore(ctx, db) // db: *sqldb.DB, nil for in-memory
//	gate := trust.NewGate(trust.Registry(reg.Transport("trust"), "http://berth.internal"), store)
//	// registry.WithPullGate(gate), registry.WithEventSink(gate)
//	store.AddEntry(ctx, "", "release", publicKeyPEM)
//	store.SetPolicy(ctx, "library", trust.Policy{Mode: trust.ModeAny})
//
// The policy alone, in a unit test: see the Evaluate example.
package trust
