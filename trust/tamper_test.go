package trust_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"sync/atomic"
	"testing"
	"time"

	"github.com/notaryproject/notation-core-go/revocation"
	"github.com/notaryproject/notation-core-go/revocation/result"
	"github.com/notaryproject/notation-core-go/signature"
	_ "github.com/notaryproject/notation-core-go/signature/jws" // registers the JWS envelope
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/trust"
)

// pushCosignTag stores a hand-made cosign signature of s under its tag.
func (e *env) pushCosignTag(t *testing.T, s trust.Subject, payload []byte, sig64 string) {
	t.Helper()
	ctx := context.Background()
	pd, err := e.client.PushBlob(ctx, s.Repository, payload)
	require.NoError(t, err)
	cfg := []byte(`{}`)
	cd, err := e.client.PushBlob(ctx, s.Repository, cfg)
	require.NoError(t, err)
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cd, Size: 2},
		Layers: []ocispec.Descriptor{{MediaType: trust.MediaTypeSimpleSigning, Digest: pd, Size: int64(len(payload)),
			Annotations: map[string]string{trust.AnnotationCosignSig: sig64}}}}
	m.SchemaVersion = 2
	b, _ := json.Marshal(m)
	_, err = e.client.PushManifest(ctx, s.Repository, trust.CosignTag(s.Digest), ocispec.MediaTypeImageManifest, b)
	require.NoError(t, err)
}

// pushReferrer stores an artifact with one layer referring to s.
func (e *env) pushReferrer(t *testing.T, s trust.Subject, artifactType, layerType string, layer []byte, ann map[string]string) {
	t.Helper()
	ctx := context.Background()
	ld, err := e.client.PushBlob(ctx, s.Repository, layer)
	require.NoError(t, err)
	ed, err := e.client.PushBlob(ctx, s.Repository, []byte("{}"))
	require.NoError(t, err)
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: artifactType,
		Config:  ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: ed, Size: 2},
		Layers:  []ocispec.Descriptor{{MediaType: layerType, Digest: ld, Size: int64(len(layer))}},
		Subject: &ocispec.Descriptor{MediaType: s.MediaType, Digest: s.Digest, Size: s.Size}, Annotations: ann}
	m.SchemaVersion = 2
	b, _ := json.Marshal(m)
	_, err = e.client.PushManifest(ctx, s.Repository, digest.FromBytes(b).String(), ocispec.MediaTypeImageManifest, b)
	require.NoError(t, err)
}

// refusal pulls s and returns the 412's message.
func (e *env) refusal(t *testing.T, s trust.Subject) string {
	t.Helper()
	d, sigs, err := e.gate.Check(context.Background(), s)
	require.NoError(t, err)
	require.False(t, d.Allowed, "%+v", sigs)
	status, body := e.pull(t, s.Repository, s.Digest.String())
	require.Equal(t, 412, status, body)
	t.Logf("refused: %s", d.Reason)
	return d.Reason
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func TestTamperedCosign(t *testing.T) {
	e := newEnv(t)
	key := ecKey(t)
	e.addPEM(t, "", "release", pubPEM(t, key))
	e.setPolicy(t, "", trust.Policy{Mode: trust.ModeAny})
	sign := func(p []byte) []byte {
		sig, err := trust.SignCosignPayload(key, p)
		require.NoError(t, err)
		return sig
	}

	t.Run("signature over another digest", func(t *testing.T) {
		a, b := e.pushImage(t, "p/other", "a"), e.pushImage(t, "p/other", "b")
		p := trust.CosignPayload("p/other", b.Digest)
		e.pushCosignTag(t, a, p, b64(sign(p)))
		assert.Contains(t, e.refusal(t, a), `the payload signs "`+b.Digest.String()+`", not this artifact`)
	})
	t.Run("payload swapped", func(t *testing.T) {
		a := e.pushImage(t, "p/swap", "a")
		signed := trust.CosignPayload("p/swap", a.Digest)
		swapped := trust.CosignPayload("evil.example/p/swap", a.Digest)
		e.pushCosignTag(t, a, swapped, b64(sign(signed)))
		assert.Contains(t, e.refusal(t, a), "none of the 1 trusted keys verifies it")
	})
	t.Run("payload swapped in storage", func(t *testing.T) {
		a := e.pushImage(t, "p/store", "a")
		p := trust.CosignPayload("p/store", a.Digest)
		e.pushCosignTag(t, a, p, b64(sign(p)))
		src := swappingSource{Source: e.client, bytes: trust.CosignPayload("evil", a.Digest)}
		found, err := trust.Discover(context.Background(), src, a.Repository, a.Digest)
		require.NoError(t, err)
		ks := trust.KeySet{Entries: e.entries(t)}
		sigs := trust.Verify(context.Background(), a, found, ks, trust.VerifyOptions{})
		d := trust.Evaluate(trust.Artifact{Repository: a.Repository, Digest: a.Digest}, sigs, trust.Policy{Mode: trust.ModeAny})
		require.False(t, d.Allowed)
		assert.Contains(t, d.Reason, "does not match its digest")
	})
	t.Run("payload type changed", func(t *testing.T) {
		a := e.pushImage(t, "p/type", "a")
		p := []byte(`{"critical":{"identity":{"docker-reference":"p/type"},"image":{"docker-manifest-digest":"` +
			a.Digest.String() + `"},"type":"something else"},"optional":null}`)
		e.pushCosignTag(t, a, p, b64(sign(p)))
		assert.Contains(t, e.refusal(t, a), `the payload's type is "something else"`)
	})
	t.Run("signature annotation edited", func(t *testing.T) {
		a := e.pushImage(t, "p/ann", "a")
		p := trust.CosignPayload("p/ann", a.Digest)
		sig := sign(p)
		sig[len(sig)-1] ^= 0xff
		e.pushCosignTag(t, a, p, b64(sig))
		assert.Contains(t, e.refusal(t, a), "none of the 1 trusted keys verifies it")
	})
	t.Run("signature annotation not base64", func(t *testing.T) {
		a := e.pushImage(t, "p/ann64", "a")
		p := trust.CosignPayload("p/ann64", a.Digest)
		e.pushCosignTag(t, a, p, "%%%not base64")
		assert.Contains(t, e.refusal(t, a), "not valid base64")
	})
	t.Run("payload not JSON", func(t *testing.T) {
		a := e.pushImage(t, "p/json", "a")
		p := []byte("\x00\xffnot json")
		e.pushCosignTag(t, a, p, b64(sign(p)))
		assert.Contains(t, e.refusal(t, a), "not a simple-signing document")
	})
}

func TestTamperedBundle(t *testing.T) {
	e := newEnv(t)
	key := ecKey(t)
	e.addPEM(t, "", "release", pubPEM(t, key))
	e.setPolicy(t, "", trust.Policy{Mode: trust.ModeAny})
	bundle := func(s trust.Subject, d digest.Digest, predicate string, k *ecdsa.PrivateKey) []byte {
		st, _ := json.Marshal(map[string]any{"_type": "https://in-toto.io/Statement/v1", "predicateType": predicate,
			"subject": []any{map[string]any{"name": s.Repository, "digest": map[string]string{"sha256": d.Encoded()}}}, "predicate": map[string]any{}})
		pae := []byte("DSSEv1 28 application/vnd.in-toto+json " + itoa(len(st)) + " " + string(st))
		sig, err := trust.SignCosignPayload(k, pae)
		require.NoError(t, err)
		b, _ := json.Marshal(map[string]any{"mediaType": trust.MediaTypeSigstoreBundle3,
			"verificationMaterial": map[string]any{"publicKey": map[string]any{"hint": "k"}},
			"dsseEnvelope": map[string]any{"payload": b64(st), "payloadType": "application/vnd.in-toto+json",
				"signatures": []any{map[string]any{"sig": b64(sig), "keyid": ""}}}})
		return b
	}
	const sign = "https://sigstore.dev/cosign/sign/v1"
	good := e.pushImage(t, "p/bundle", "good")
	e.pushReferrer(t, good, trust.MediaTypeSigstoreBundle3, trust.MediaTypeSigstoreBundle3, bundle(good, good.Digest, sign, key), nil)
	d, sigs, err := e.gate.Check(context.Background(), good)
	require.NoError(t, err)
	require.True(t, d.Allowed, "%+v", sigs)
	assert.Equal(t, "bundle", sigs[0].Form)

	other := e.pushImage(t, "p/bundle", "other")
	e.pushReferrer(t, other, trust.MediaTypeSigstoreBundle3, trust.MediaTypeSigstoreBundle3, bundle(other, good.Digest, sign, key), nil)
	assert.Contains(t, e.refusal(t, other), "the statement's subjects do not include this artifact")

	untrusted := e.pushImage(t, "p/bundle", "untrusted")
	e.pushReferrer(t, untrusted, trust.MediaTypeSigstoreBundle3, trust.MediaTypeSigstoreBundle3, bundle(untrusted, untrusted.Digest, sign, ecKey(t)), nil)
	assert.Contains(t, e.refusal(t, untrusted), "made by an untrusted key")

	att := e.pushImage(t, "p/bundle", "attestation")
	e.pushReferrer(t, att, trust.MediaTypeSigstoreBundle3, trust.MediaTypeSigstoreBundle3, bundle(att, att.Digest, "https://slsa.dev/provenance/v1", key), nil)
	assert.Contains(t, e.refusal(t, att), "not a cosign signature")
}

// swappingSource serves other bytes for every blob.
type swappingSource struct {
	trust.Source
	bytes []byte
}

func (s swappingSource) Blob(context.Context, string, digest.Digest, int64) ([]byte, error) {
	return s.bytes, nil
}

func (e *env) entries(t *testing.T) []*trust.Entry {
	eff, err := e.store.Effective(context.Background(), "p")
	require.NoError(t, err)
	return eff.Keys.Entries
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// jwsEnvelope hand-makes a Notation JWS envelope, skipping the checks
// notation-go's signer makes, as an attacker would.
func jwsEnvelope(t *testing.T, s trust.Subject, key *ecdsa.PrivateKey, chain []*x509.Certificate, signingTime time.Time) []byte {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{"targetArtifact": ocispec.Descriptor{MediaType: s.MediaType, Digest: s.Digest, Size: s.Size}})
	prot, _ := json.Marshal(map[string]any{"alg": "ES256", "cty": "application/vnd.cncf.notary.payload.v1+json",
		"crit": []string{"io.cncf.notary.signingScheme"}, "io.cncf.notary.signingScheme": "notary.x509",
		"io.cncf.notary.signingTime": signingTime.UTC().Format(time.RFC3339)})
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(prot) + "." + enc.EncodeToString(payload)
	h := sha256.Sum256([]byte(signed))
	r, ss, err := ecdsa.Sign(rand.Reader, key, h[:])
	require.NoError(t, err)
	sig := make([]byte, 64)
	r.FillBytes(sig[:32])
	ss.FillBytes(sig[32:])
	var x5c [][]byte
	for _, c := range chain {
		x5c = append(x5c, c.Raw)
	}
	b, _ := json.Marshal(map[string]any{"payload": enc.EncodeToString(payload), "protected": enc.EncodeToString(prot),
		"header": map[string]any{"x5c": x5c, "io.cncf.notary.signingAgent": "berth-test"}, "signature": enc.EncodeToString(sig)})
	return b
}

func TestTamperedNotation(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(t, "", trust.Policy{Mode: trust.ModeAny})
	now := time.Now()

	t.Run("hand-made envelope verifies", func(t *testing.T) {
		p := newPKI(t, leafSpec{cn: "ok"})
		e.addPEM(t, "p", "ok-ca", certPEM(p.ca))
		s := e.pushImage(t, "p/ok", "a")
		e.pushReferrer(t, s, trust.ArtifactTypeNotation, trust.MediaTypeJWS, jwsEnvelope(t, s, p.leafKey, p.chain(), now), nil)
		d, sigs, err := e.gate.Check(context.Background(), s)
		require.NoError(t, err)
		require.True(t, d.Allowed, "%+v", sigs)
	})
	t.Run("signature over another digest", func(t *testing.T) {
		p := newPKI(t, leafSpec{cn: "other"})
		e.addPEM(t, "p", "other-ca", certPEM(p.ca))
		a, b := e.pushImage(t, "p/nother", "a"), e.pushImage(t, "p/nother", "b")
		e.pushReferrer(t, a, trust.ArtifactTypeNotation, trust.MediaTypeJWS, jwsEnvelope(t, b, p.leafKey, p.chain(), now), nil)
		assert.Contains(t, e.refusal(t, a), "content descriptor mismatch")
	})
	t.Run("payload swapped", func(t *testing.T) {
		p := newPKI(t, leafSpec{cn: "swap"})
		e.addPEM(t, "p", "swap-ca", certPEM(p.ca))
		a, b := e.pushImage(t, "p/nswap", "a"), e.pushImage(t, "p/nswap", "b")
		var envA, envB map[string]any
		require.NoError(t, json.Unmarshal(jwsEnvelope(t, a, p.leafKey, p.chain(), now), &envA))
		require.NoError(t, json.Unmarshal(jwsEnvelope(t, b, p.leafKey, p.chain(), now), &envB))
		envB["payload"] = envA["payload"] // a's payload under b's signature
		swapped, _ := json.Marshal(envB)
		e.pushReferrer(t, a, trust.ArtifactTypeNotation, trust.MediaTypeJWS, swapped, nil)
		assert.Contains(t, e.refusal(t, a), "signature is invalid")
	})
	t.Run("certificate expired", func(t *testing.T) {
		p := newPKI(t, leafSpec{cn: "expired", notBefore: now.Add(-72 * time.Hour), notAfter: now.Add(-24 * time.Hour)})
		e.addPEM(t, "p", "expired-ca", certPEM(p.ca))
		s := e.pushImage(t, "p/expired", "a")
		e.pushReferrer(t, s, trust.ArtifactTypeNotation, trust.MediaTypeJWS, jwsEnvelope(t, s, p.leafKey, p.chain(), now.Add(-48*time.Hour)), nil)
		assert.Contains(t, e.refusal(t, s), "expired")
	})
	t.Run("certificate without code-signing usage", func(t *testing.T) {
		p := newPKI(t, leafSpec{cn: "tls", eku: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
		e.addPEM(t, "p", "tls-ca", certPEM(p.ca))
		s := e.pushImage(t, "p/tls", "a")
		e.pushReferrer(t, s, trust.ArtifactTypeNotation, trust.MediaTypeJWS, jwsEnvelope(t, s, p.leafKey, p.chain(), now), nil)
		assert.Contains(t, e.refusal(t, s), "extended key usage must not contain ServerAuth")
	})
	t.Run("envelope garbage", func(t *testing.T) {
		s := e.pushImage(t, "p/garbage", "a")
		e.pushReferrer(t, s, trust.ArtifactTypeNotation, trust.MediaTypeCOSE, []byte("\xd2\x84garbage"), nil)
		assert.Contains(t, e.refusal(t, s), "Notation verification failed")
	})
}

var _ = signature.SigningSchemeX509

// revokedValidator answers that every certificate is revoked.
type revokedValidator struct{ calls atomic.Int32 }

func (v *revokedValidator) ValidateContext(_ context.Context, o revocation.ValidateContextOptions) ([]*result.CertRevocationResult, error) {
	v.calls.Add(1)
	out := make([]*result.CertRevocationResult, len(o.CertChain))
	for i := range out {
		out[i] = &result.CertRevocationResult{Result: result.ResultRevoked, RevocationMethod: result.RevocationMethodOCSP,
			ServerResults: []*result.ServerResult{result.NewServerResult(result.ResultRevoked, "http://ocsp.test", nil)}}
	}
	return out, nil
}

// TestNotationRevocation: revocation checks are off by default (no
// network) and, when a validator is configured, a revoked chain is
// refused.
func TestNotationRevocation(t *testing.T) {
	e := newEnv(t)
	p := newPKI(t, leafSpec{cn: "revoked"})
	e.addPEM(t, "", "ca", certPEM(p.ca))
	s := e.pushImage(t, "p/app", "v1")
	e.signNotation(t, s, p, trust.MediaTypeJWS)
	found, err := trust.Discover(context.Background(), e.client, s.Repository, s.Digest)
	require.NoError(t, err)
	ks := trust.KeySet{Entries: e.entries(t)}

	sigs := trust.Verify(context.Background(), s, found, ks, trust.VerifyOptions{})
	require.Len(t, sigs, 1)
	assert.True(t, sigs[0].Verified, sigs[0].Reason)

	rv := &revokedValidator{}
	sigs = trust.Verify(context.Background(), s, found, ks, trust.VerifyOptions{Revocation: rv})
	require.Len(t, sigs, 1)
	assert.False(t, sigs[0].Verified)
	assert.Contains(t, sigs[0].Reason, "revoked")
	assert.Positive(t, rv.calls.Load())
}
