package trust_test

import (
	"context"
	"testing"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"

	"github.com/berthlabs/berth/trust"
)

// fuzzSource serves the same hostile bytes as every manifest, blob and
// referrer.
type fuzzSource struct{ b []byte }

func (s fuzzSource) Manifest(context.Context, string, string, int64) (string, []byte, error) {
	return ocispec.MediaTypeImageManifest, s.b, nil
}
func (s fuzzSource) Blob(context.Context, string, digest.Digest, int64) ([]byte, error) {
	return s.b, nil
}
func (s fuzzSource) Referrers(context.Context, string, digest.Digest, string, int) ([]ocispec.Descriptor, error) {
	return []ocispec.Descriptor{
		{ArtifactType: trust.ArtifactTypeCosignSig, Digest: digest.FromBytes(s.b)},
		{ArtifactType: trust.MediaTypeSigstoreBundle3, Digest: digest.FromBytes(s.b)},
		{ArtifactType: trust.ArtifactTypeNotation, Digest: digest.FromBytes(s.b)},
	}, nil
}

// FuzzSignatureParsers feeds hostile bytes to every parser: signature
// manifests, simple-signing payloads, sigstore bundles, JWS and COSE
// envelopes. Errors are expected; panics are not.
func FuzzSignatureParsers(f *testing.F) {
	d := digest.FromString("subject")
	f.Add(trust.CosignPayload("r/a", d))
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"` + trust.MediaTypeSimpleSigning + `","digest":"` + d.String() +
		`","size":10,"annotations":{"` + trust.AnnotationCosignSig + `":"AAAA"}}]}`))
	f.Add([]byte(`{"schemaVersion":2,"layers":[{"mediaType":"application/jose+json","digest":"` + d.String() + `","size":10}]}`))
	f.Add([]byte(`{"mediaType":"application/vnd.dev.sigstore.bundle.v0.3+json","verificationMaterial":{"publicKey":{"hint":"x"}},` +
		`"dsseEnvelope":{"payload":"e30=","payloadType":"application/vnd.in-toto+json","signatures":[{"sig":"AAAA"}]}}`))
	f.Add([]byte(`{"payload":"e30","protected":"e30","header":{"x5c":["AAAA"]},"signature":"AAAA"}`))
	f.Add([]byte("\xd2\x84\x40\xa0\x40\x40"))
	key := mustKey()
	entry, _ := trust.ParseEntry("k", key)
	ks := trust.KeySet{Entries: []*trust.Entry{entry}}
	subj := trust.Subject{Repository: "r/a", Digest: d, MediaType: ocispec.MediaTypeImageManifest, Size: 7}
	f.Fuzz(func(t *testing.T, b []byte) {
		ctx := context.Background()
		_, _ = trust.ParseSimpleSigning(b)
		_, _ = trust.ParseEntry("x", b)
		found, err := trust.Discover(ctx, fuzzSource{b}, "r/a", d)
		if err != nil {
			return
		}
		found = append(found,
			trust.Found{Format: trust.FormatCosign, Form: "tag", Payload: b, Sig: b},
			trust.Found{Format: trust.FormatCosign, Form: "bundle", Bundle: b},
			trust.Found{Format: trust.FormatNotation, Form: "jws", Envelope: b, EnvelopeType: trust.MediaTypeJWS},
			trust.Found{Format: trust.FormatNotation, Form: "cose", Envelope: b, EnvelopeType: trust.MediaTypeCOSE})
		for _, s := range trust.Verify(ctx, subj, found, ks, trust.VerifyOptions{}) {
			if s.Verified {
				t.Fatalf("hostile bytes verified: %+v", s)
			}
		}
	})
}
