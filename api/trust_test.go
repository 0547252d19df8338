package api_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/trust"
)

// lateChecker forwards to a gate built once the env's registry exists.
type lateChecker struct{ g *trust.Gate }

func (l *lateChecker) Check(ctx context.Context, s trust.Subject) (trust.Decision, []trust.Signature, error) {
	return l.g.Check(ctx, s)
}

func newTrustEnv(t *testing.T) (*env, *trust.Store) {
	e, store, _ := newTrustEnvGate(t)
	return e, store
}

// newTrustEnvGate also returns the gate; the env's registry does not send
// it events (the server wires them), so tests invalidate it.
func newTrustEnvGate(t *testing.T) (*env, *trust.Store, *trust.Gate) {
	store, err := trust.NewStore(t.Context(), nil)
	require.NoError(t, err)
	lc := &lateChecker{}
	e := newEnv(t, api.WithTrust(store, lc))
	resolve := func(ctx context.Context, name string) (string, string, error) {
		p, err := e.projects.Get(ctx, name)
		if err != nil {
			return name, "", nil
		}
		return trust.ProjectKey(p.ID), p.Metadata.ContentTrust, nil
	}
	lc.g = trust.NewGate(trust.Registry(e.reg.Transport("trust"), "http://berth.internal"), trust.WithProjects(store, resolve))
	return e, store, lc.g
}

func testKeyPEM(t *testing.T) (*ecdsa.PrivateKey, string) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	require.NoError(t, err)
	return k, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}))
}

func TestTrustKeysAndPolicies(t *testing.T) {
	e, _ := newTrustEnv(t)
	e.user("alice", "dave")
	e.project("p", false, "alice="+project.RoleProjectAdmin, "dave="+project.RoleDeveloper)
	_, pub := testKeyPEM(t)

	// The system trust store: system admins write, signed-in users read.
	var k api.TrustKey
	e.do(admin(), http.MethodPost, "/trust/keys", api.TrustKeyReq{Name: "release", PEM: pub}).ok(t, http.StatusCreated, &k)
	assert.Equal(t, "key", k.Kind)
	assert.Regexp(t, `^sha256:[0-9a-f]{64}$`, k.KeyID)
	e.do(admin(), http.MethodPost, "/trust/keys", api.TrustKeyReq{Name: "release", PEM: pub}).fails(t, http.StatusConflict, "CONFLICT")
	msg := e.do(admin(), http.MethodPost, "/trust/keys", api.TrustKeyReq{Name: "junk", PEM: "not pem"}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	assert.Contains(t, msg, "no PEM block")
	e.do(as("alice"), http.MethodPost, "/trust/keys", api.TrustKeyReq{Name: "x", PEM: pub}).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, "/trust/keys", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	assert.Equal(t, []string{"release"}, names(t, e.do(as("dave"), http.MethodGet, "/trust/keys", nil), "name"))

	// A project's trust store and policy: project admins write, members read.
	e.do(as("alice"), http.MethodPost, "/projects/p/trust/keys", api.TrustKeyReq{Name: "team", PEM: pub}).ok(t, http.StatusCreated, &k)
	e.do(as("dave"), http.MethodPost, "/projects/p/trust/keys", api.TrustKeyReq{Name: "mine", PEM: pub}).fails(t, http.StatusForbidden, "FORBIDDEN")
	assert.Equal(t, []string{"team"}, names(t, e.do(as("dave"), http.MethodGet, "/projects/p/trust/keys", nil), "name"))

	var pol api.TrustPolicyResp
	e.do(as("dave"), http.MethodGet, "/projects/p/trust/policy", nil).ok(t, http.StatusOK, &pol)
	assert.Equal(t, api.TrustPolicyResp{TrustPolicy: api.TrustPolicy{Mode: "off", Format: "either"}, Inherited: true}, pol)
	e.do(admin(), http.MethodPut, "/trust/policy", api.TrustPolicy{Mode: "any"}).ok(t, http.StatusOK, nil)
	e.do(as("dave"), http.MethodGet, "/projects/p/trust/policy", nil).ok(t, http.StatusOK, &pol)
	assert.Equal(t, "any", pol.Mode)
	assert.True(t, pol.Inherited)
	e.do(as("dave"), http.MethodPut, "/projects/p/trust/policy", api.TrustPolicy{Mode: "off"}).fails(t, http.StatusForbidden, "FORBIDDEN")
	msg = e.do(as("alice"), http.MethodPut, "/projects/p/trust/policy", api.TrustPolicy{Mode: "signers"}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	assert.Contains(t, msg, "at least one signer")
	e.do(as("alice"), http.MethodPut, "/projects/p/trust/policy",
		api.TrustPolicy{Mode: "signers", Format: "cosign", Signers: []string{"team"}}).ok(t, http.StatusOK, nil)
	e.do(as("dave"), http.MethodGet, "/projects/p/trust/policy", nil).ok(t, http.StatusOK, &pol)
	assert.Equal(t, api.TrustPolicyResp{TrustPolicy: api.TrustPolicy{Mode: "signers", Format: "cosign", Signers: []string{"team"}}}, pol)
	e.do(as("alice"), http.MethodDelete, "/projects/p/trust/policy", nil).ok(t, http.StatusOK, nil)
	e.do(as("dave"), http.MethodGet, "/projects/p/trust/policy", nil).ok(t, http.StatusOK, &pol)
	assert.True(t, pol.Inherited)

	e.do(as("alice"), http.MethodDelete, "/projects/p/trust/keys/999", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(as("alice"), http.MethodDelete, "/projects/p/trust/keys/"+itoa64(k.ID), nil).ok(t, http.StatusOK, nil)
	assert.Empty(t, names(t, e.do(as("dave"), http.MethodGet, "/projects/p/trust/keys", nil), "name"))
}

func itoa64(n int64) string {
	b := []byte{}
	if n == 0 {
		return "0"
	}
	for n > 0 {
		b = append([]byte{byte('0' + n%10)}, b...)
		n /= 10
	}
	return string(b)
}

func TestTrustArtifactSignatures(t *testing.T) {
	e, store, gate := newTrustEnvGate(t)
	e.user("dave")
	e.project("p", false, "dave="+project.RoleDeveloper)
	key, pub := testKeyPEM(t)
	p, err := e.projects.Get(t.Context(), "p")
	require.NoError(t, err)
	_, err = store.AddEntry(t.Context(), trust.ProjectKey(p.ID), "team", []byte(pub))
	require.NoError(t, err)
	require.NoError(t, store.SetPolicy(t.Context(), trust.ProjectKey(p.ID), trust.Policy{Mode: trust.ModeAny}))

	d := digest.Digest(e.push("p/app", "v1"))
	path := "/projects/p/repositories/app/artifacts/v1/signatures"
	var v api.TrustVerification
	e.do(as("dave"), http.MethodGet, path, nil).ok(t, http.StatusOK, &v)
	assert.False(t, v.Allowed)
	assert.Contains(t, v.Reason, "no signature found")
	assert.Empty(t, v.Signatures)

	art, err := e.reg.GetArtifact(t.Context(), "p/app", "v1")
	require.NoError(t, err)
	c := trust.Registry(e.reg.Transport("signer"), "http://berth.internal")
	_, err = trust.SignCosign(t.Context(), c, trust.Subject{Repository: "p/app", Digest: d, MediaType: art.MediaType, Size: art.Size},
		key, trust.CosignOptions{})
	require.NoError(t, err)
	gate.Invalidate()
	e.do(as("dave"), http.MethodGet, path, nil).ok(t, http.StatusOK, &v)
	assert.True(t, v.Allowed, v.Reason)
	require.Len(t, v.Signers, 1)
	assert.Equal(t, "team", v.Signers[0].Name)
	require.Len(t, v.Signatures, 1)
	assert.Equal(t, api.TrustSignature{Format: "cosign", Form: "tag", Manifest: v.Signatures[0].Manifest, Verified: true,
		Signer: v.Signers[0]}, v.Signatures[0])

	// The same verdict rides with the artifact when asked for, and marks
	// its tags signed.
	var a api.Artifact
	e.do(as("dave"), http.MethodGet, "/projects/p/repositories/app/artifacts/v1", nil).ok(t, http.StatusOK, &a)
	assert.Nil(t, a.Signatures)
	e.do(as("dave"), http.MethodGet, "/projects/p/repositories/app/artifacts/v1?with_signature=true", nil).ok(t, http.StatusOK, &a)
	require.NotNil(t, a.Signatures)
	assert.Equal(t, v.Signers, a.Signatures.Signers)
	require.Len(t, a.Tags, 1)
	assert.True(t, a.Tags[0].Signed)
	var list []api.Artifact
	e.do(as("dave"), http.MethodGet, "/projects/p/repositories/app/artifacts?with_signature=1", nil).ok(t, http.StatusOK, &list)
	var signedTags []string
	for _, a := range list {
		for _, tag := range a.Tags {
			if tag.Signed {
				signedTags = append(signedTags, tag.Name)
			}
		}
	}
	assert.Equal(t, []string{"v1"}, signedTags)
	e.do(as("dave"), http.MethodGet, "/projects/p/repositories/app/artifacts?with_signature=maybe", nil).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")

	e.do(anonymous, http.MethodGet, path, nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
}

func TestTrustOpenAPIValidates(t *testing.T) {
	e, _ := newTrustEnv(t)
	r := e.do(anonymous, http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Contains(t, string(r.Body), `"/projects/{project_name_or_id}/trust/policy"`)
	assert.Contains(t, string(r.Body), `"TrustVerification"`)
	validateOpenAPI(t, r.Body)
}

func TestTrustSettingsDieWithTheProject(t *testing.T) {
	e, _ := newTrustEnv(t)
	_, pub := testKeyPEM(t)
	e.project("gone", false)
	e.do(admin(), http.MethodPost, "/projects/gone/trust/keys", api.TrustKeyReq{Name: "k", PEM: pub}).ok(t, http.StatusCreated, nil)
	e.do(admin(), http.MethodPut, "/projects/gone/trust/policy", api.TrustPolicy{Mode: "any"}).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodDelete, "/projects/gone", nil).ok(t, http.StatusOK, nil)
	e.project("gone", false)
	assert.Empty(t, names(t, e.do(admin(), http.MethodGet, "/projects/gone/trust/keys", nil), "name"))
	var pol api.TrustPolicyResp
	e.do(admin(), http.MethodGet, "/projects/gone/trust/policy", nil).ok(t, http.StatusOK, &pol)
	assert.True(t, pol.Inherited)
	assert.Equal(t, "off", pol.Mode)
}
