package trust_test

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testlog"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/trust"
)

func TestGateCosignAndNotation(t *testing.T) { onEngines(t, testGateCosignAndNotation) }

func testGateCosignAndNotation(t *testing.T, db *sqldb.DB) {
	e := newEnvOn(t, db)
	ctx := context.Background()
	trusted, untrusted := ecKey(t), ecKey(t)
	e.addPEM(t, "", "release", pubPEM(t, trusted))
	e.setPolicy(t, "acme", trust.Policy{Mode: trust.ModeAny})

	unsigned := e.pushImage(t, "acme/app", "unsigned")
	status, body := e.pull(t, "acme/app", "unsigned")
	assert.Equal(t, http.StatusPreconditionFailed, status)
	assert.Contains(t, body, "no signature found")

	// Other projects have no policy: the system default is off.
	e.pushImage(t, "other/app", "v1")
	status, _ = e.pull(t, "other/app", "v1")
	assert.Equal(t, http.StatusOK, status)

	bad := e.pushImage(t, "acme/app", "untrusted")
	e.signCosign(t, bad, untrusted, false)
	status, body = e.pull(t, "acme/app", "untrusted")
	assert.Equal(t, http.StatusPreconditionFailed, status)
	assert.Contains(t, body, "found 1 cosign signature")
	assert.Contains(t, body, "made by an untrusted key")

	// The signature itself is never blocked, by tag or by digest.
	status, _ = e.pull(t, "acme/app", trust.CosignTag(bad.Digest))
	assert.Equal(t, http.StatusOK, status)
	sigDesc, err := e.reg.GetArtifact(ctx, "acme/app", trust.CosignTag(bad.Digest))
	require.NoError(t, err)
	status, _ = e.pull(t, "acme/app", sigDesc.Digest.String())
	assert.Equal(t, http.StatusOK, status)

	good := e.pushImage(t, "acme/app", "good")
	e.signCosign(t, good, trusted, false)
	status, _ = e.pull(t, "acme/app", "good")
	assert.Equal(t, http.StatusOK, status)
	status, _ = e.pull(t, "acme/app", good.Digest.String())
	assert.Equal(t, http.StatusOK, status)

	// Signing the unsigned image (an event) lets it through at once,
	// although its refusal was cached.
	e.signCosign(t, unsigned, trusted, true) // the OCI 1.1 referrer form
	status, body = e.pull(t, "acme/app", "unsigned")
	assert.Equal(t, http.StatusOK, status, body)

	// Notation, JWS and COSE, with the CA in the project's trust store.
	p := newPKI(t, leafSpec{cn: "builder"})
	for _, env := range []string{trust.MediaTypeJWS, trust.MediaTypeCOSE} {
		s := e.pushImage(t, "acme/app", "notation")
		e.signNotation(t, s, p, env)
		status, body = e.pull(t, "acme/app", "notation")
		assert.Equal(t, http.StatusPreconditionFailed, status, env)
		assert.Contains(t, body, "notation")
	}
	ca := e.addPEM(t, "acme", "builders-ca", certPEM(p.ca))
	status, body = e.pull(t, "acme/app", "notation")
	assert.Equal(t, http.StatusOK, status, body)
	d, sigs, err := e.gate.Check(ctx, trust.Subject{Repository: "acme/app", Digest: good.Digest, MediaType: good.MediaType, Size: good.Size})
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	require.Len(t, sigs, 1)
	assert.Equal(t, "release", sigs[0].Signer.Name)

	// Named signers: the certificate subject or the key's name.
	e.setPolicy(t, "acme", trust.Policy{Mode: trust.ModeSigners, Signers: []string{p.leaf.Subject.String()}})
	status, _ = e.pull(t, "acme/app", "notation")
	assert.Equal(t, http.StatusOK, status)
	status, body = e.pull(t, "acme/app", "good")
	assert.Equal(t, http.StatusPreconditionFailed, status)
	assert.Contains(t, body, "not a named signer")
	e.setPolicy(t, "acme", trust.Policy{Mode: trust.ModeSigners, Signers: []string{"release"}, Format: trust.FormatCosign})
	status, _ = e.pull(t, "acme/app", "good")
	assert.Equal(t, http.StatusOK, status)
	status, body = e.pull(t, "acme/app", "notation")
	assert.Equal(t, http.StatusPreconditionFailed, status)
	assert.Contains(t, body, "requires cosign signatures")

	// Removing the CA from the trust store is seen at once.
	e.setPolicy(t, "acme", trust.Policy{Mode: trust.ModeAny, Format: trust.FormatNotation})
	status, _ = e.pull(t, "acme/app", "notation")
	assert.Equal(t, http.StatusOK, status)
	require.NoError(t, e.store.DeleteEntry(ctx, "acme", ca.ID))
	status, _ = e.pull(t, "acme/app", "notation")
	assert.Equal(t, http.StatusPreconditionFailed, status)
}

func TestGateKeyTypes(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(t, "", trust.Policy{Mode: trust.ModeAny}) // the system default
	for _, tc := range []struct {
		name string
		key  cryptoSigner
	}{{"ecdsa", ecKey(t)}, {"ed25519", edKey(t)}, {"rsa", rsaKey(t)}} {
		t.Run(tc.name, func(t *testing.T) {
			e.addPEM(t, "", tc.name, pubPEM(t, tc.key))
			s := e.pushImage(t, "p/"+tc.name, "v1")
			status, _ := e.pull(t, "p/"+tc.name, "v1")
			require.Equal(t, http.StatusPreconditionFailed, status)
			e.signCosign(t, s, tc.key, false)
			status, body := e.pull(t, "p/"+tc.name, "v1")
			require.Equal(t, http.StatusOK, status, body)
		})
	}
}

// pushRaw pushes manifest bytes under ref.
func (e *env) pushRaw(t *testing.T, repo, ref, mediaType string, v any) trust.Subject {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	d, err := e.client.PushManifest(context.Background(), repo, ref, mediaType, b)
	require.NoError(t, err)
	return trust.Subject{Repository: repo, Digest: d, MediaType: mediaType, Size: int64(len(b))}
}

// TestGateAccessoriesCannotSmuggleImages: a runnable image does not pass
// as a signature because it has a subject or a cosign-like tag.
func TestGateAccessoriesCannotSmuggleImages(t *testing.T) {
	e := newEnv(t)
	e.addPEM(t, "", "release", pubPEM(t, ecKey(t)))
	e.setPolicy(t, "", trust.Policy{Mode: trust.ModeAny})
	base := e.pushImage(t, "p/app", "base")
	_, raw, err := e.client.Manifest(context.Background(), "p/app", base.Digest.String(), 1<<20)
	require.NoError(t, err)
	var m ocispec.Manifest
	require.NoError(t, json.Unmarshal(raw, &m))

	// The same image, with a subject.
	m.Subject = &ocispec.Descriptor{MediaType: base.MediaType, Digest: base.Digest, Size: base.Size}
	withSubject := e.pushRaw(t, "p/app", "with-subject", ocispec.MediaTypeImageManifest, m)
	status, _ := e.pull(t, "p/app", withSubject.Digest.String())
	assert.Equal(t, http.StatusPreconditionFailed, status)

	// The image under a tag that looks like cosign's.
	m.Subject = nil
	e.pushRaw(t, "p/app", trust.CosignTag(base.Digest), ocispec.MediaTypeImageManifest, m)
	status, _ = e.pull(t, "p/app", trust.CosignTag(base.Digest))
	assert.Equal(t, http.StatusPreconditionFailed, status)

	// A real attachment with a subject passes.
	e.pushReferrerArtifact(t, base)
}

func (e *env) pushReferrerArtifact(t *testing.T, s trust.Subject) {
	t.Helper()
	ctx := context.Background()
	ld, err := e.client.PushBlob(ctx, s.Repository, []byte(`{"spdxVersion":"SPDX-2.3"}`))
	require.NoError(t, err)
	ed, err := e.client.PushBlob(ctx, s.Repository, []byte("{}"))
	require.NoError(t, err)
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest, ArtifactType: "application/spdx+json",
		Config:  ocispec.Descriptor{MediaType: ocispec.MediaTypeEmptyJSON, Digest: ed, Size: 2},
		Layers:  []ocispec.Descriptor{{MediaType: "application/spdx+json", Digest: ld, Size: 26}},
		Subject: &ocispec.Descriptor{MediaType: s.MediaType, Digest: s.Digest, Size: s.Size}}
	m.SchemaVersion = 2
	sbom := e.pushRaw(t, s.Repository, "sbom", ocispec.MediaTypeImageManifest, m)
	status, _ := e.pull(t, s.Repository, sbom.Digest.String())
	assert.Equal(t, http.StatusOK, status)
}

// TestGateMultiPlatform: signing an index (cosign's default for a
// multi-platform image) lets its images be pulled after it.
func TestGateMultiPlatform(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	key := ecKey(t)
	e.addPEM(t, "", "release", pubPEM(t, key))
	e.setPolicy(t, "", trust.Policy{Mode: trust.ModeAny})
	amd, arm := e.pushImage(t, "p/multi", "amd64"), e.pushImage(t, "p/multi", "arm64")
	idx := ocispec.Index{MediaType: ocispec.MediaTypeImageIndex, Manifests: []ocispec.Descriptor{
		{MediaType: amd.MediaType, Digest: amd.Digest, Size: amd.Size, Platform: &ocispec.Platform{OS: "linux", Architecture: "amd64"}},
		{MediaType: arm.MediaType, Digest: arm.Digest, Size: arm.Size, Platform: &ocispec.Platform{OS: "linux", Architecture: "arm64"}}}}
	idx.SchemaVersion = 2
	index := e.pushRaw(t, "p/multi", "v1", ocispec.MediaTypeImageIndex, idx)

	status, _ := e.pull(t, "p/multi", amd.Digest.String())
	assert.Equal(t, http.StatusPreconditionFailed, status, "an unsigned image on its own")
	sig := e.signCosign(t, index, key, true)
	status, body := e.pull(t, "p/multi", "v1")
	require.Equal(t, http.StatusOK, status, body)
	for _, child := range []trust.Subject{amd, arm} {
		status, body = e.pull(t, "p/multi", child.Digest.String())
		assert.Equal(t, http.StatusOK, status, body)
	}
	d, _, err := e.gate.Check(ctx, arm)
	require.NoError(t, err)
	assert.Contains(t, d.Reason, "part of the index "+index.Digest.String())

	// The index's signature deleted: its images are refused again.
	require.NoError(t, e.reg.DeleteArtifact(ctx, "p/multi", sig))
	status, _ = e.pull(t, "p/multi", "v1")
	assert.Equal(t, http.StatusPreconditionFailed, status)
	status, _ = e.pull(t, "p/multi", amd.Digest.String())
	assert.Equal(t, http.StatusPreconditionFailed, status)
}

// TestGateExemptionIsLogged: a refused pull the integrator exempts (the
// reference server exempts callers who may push) passes, and the log says
// why, so an admin trying a policy is not left wondering.
func TestGateExemptionIsLogged(t *testing.T) {
	e := newEnv(t)
	e.setPolicy(t, "", trust.Policy{Mode: trust.ModeAny})
	img := e.pushImage(t, "p/app", "unsigned")
	target := registry.Target{Repository: img.Repository, Digest: img.Digest, MediaType: img.MediaType, Size: img.Size}
	var logs testlog.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))

	strict := trust.NewGate(e.client, e.store, trust.WithGateLogger(log))
	require.Error(t, strict.CheckPull(context.Background(), target))
	assert.NotContains(t, logs.String(), "caller is exempt")

	exempt := trust.NewGate(e.client, e.store, trust.WithGateLogger(log),
		trust.WithExemption(func(context.Context, registry.Target) bool { return true }))
	require.NoError(t, exempt.CheckPull(context.Background(), target))
	assert.Contains(t, logs.String(), "pull allowed although the policy refuses it, because the caller is exempt")
	assert.Contains(t, logs.String(), "content_trust.gate_pushers")
}
