package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/random"
	ggcrremote "github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/notaryproject/notation-go"
	notationreg "github.com/notaryproject/notation-go/registry"
	"github.com/notaryproject/notation-go/signer"
	"github.com/notaryproject/notation-go/verifier"
	"github.com/notaryproject/notation-go/verifier/trustpolicy"
	"github.com/notaryproject/notation-go/verifier/truststore"
	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/internal/testtool"
	"github.com/berthlabs/berth/trust"
)

// cosignCLI runs the real cosign with admin's credentials for a.
type cosignCLI struct {
	t   *testing.T
	bin string
	dir string // DOCKER_CONFIG and keys
	a   *authApp
}

func newCosign(t *testing.T, a *authApp) *cosignCLI {
	bin := testtool.Require(t, "cosign")
	dir := t.TempDir()
	auths := map[string]any{a.host: map[string]string{"auth": base64.StdEncoding.EncodeToString([]byte("admin:" + e2eAdminPassword))}}
	b, _ := json.Marshal(map[string]any{"auths": auths})
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), b, 0o600))
	return &cosignCLI{t: t, bin: bin, dir: dir, a: a}
}

func (c *cosignCLI) run(args ...string) (string, error) {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin, args...)
	cmd.Dir = c.dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+c.dir, "HOME="+c.dir, "COSIGN_PASSWORD=berth-test",
		"COSIGN_EXPERIMENTAL=1", "TUF_ROOT="+filepath.Join(c.dir, "tuf"), "SIGSTORE_NO_CACHE=true")
	out, err := cmd.CombinedOutput()
	c.t.Logf("cosign %s:\n%s", strings.Join(args, " "), out)
	return string(out), err
}

// keyPair generates cosign.key and cosign.pub under name and returns the
// paths and the public key's PEM.
func (c *cosignCLI) keyPair(name string) (key, pub string, pubPEM []byte) {
	c.t.Helper()
	sub := filepath.Join(c.dir, name)
	require.NoError(c.t, os.MkdirAll(sub, 0o700))
	out, err := c.run("generate-key-pair", "--output-key-prefix", filepath.Join(sub, "cosign"))
	require.NoError(c.t, err, out)
	pubPEM, err = os.ReadFile(filepath.Join(sub, "cosign.pub"))
	require.NoError(c.t, err)
	return filepath.Join(sub, "cosign.key"), filepath.Join(sub, "cosign.pub"), pubPEM
}

func (c *cosignCLI) sign(key, ref string, extra ...string) {
	c.t.Helper()
	args := append([]string{"sign", "--key", key, "--tlog-upload=false", "--allow-insecure-registry", "--allow-http-registry", "-y"}, extra...)
	out, err := c.run(append(args, ref)...)
	require.NoError(c.t, err, out)
}

func (c *cosignCLI) verify(pub, ref string) (string, error) {
	return c.run("verify", "--key", pub, "--insecure-ignore-tlog", "--allow-insecure-registry", "--allow-http-registry", ref)
}

// The pull-only member the trust tests pull as: callers who may push are
// exempt from content trust.
const (
	trustReader     = "reader"
	trustReaderPass = "reader-password-1"
	roleGuest       = 3
)

// trustProject creates a project with trustReader as a guest.
func trustProject(t *testing.T, a *authApp, name string) {
	t.Helper()
	e2eCreateProject(t, a, name, false)
	if e2eDo(t, a, "admin", e2eAdminPassword, http.MethodGet, api.BasePath+"/users/"+trustReader, nil).status == http.StatusNotFound {
		e2eCreateUser(t, a, trustReader, trustReaderPass)
	}
	e2eAddUserMember(t, a, name, trustReader, roleGuest)
}

// e2ePull GETs a manifest as the pull-only reader and returns the status
// and the error message of a refusal.
func e2ePull(t *testing.T, a *authApp, repo string, d v1.Hash) (int, string) {
	t.Helper()
	return e2ePullAs(t, a, trustReader, trustReaderPass, repo, d)
}

func e2ePullAs(t *testing.T, a *authApp, user, pass, repo string, d v1.Hash) (int, string) {
	t.Helper()
	r := e2eDo(t, a, user, pass, http.MethodGet, "/v2/"+repo+"/manifests/"+d.String(), nil,
		"Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	var body struct {
		Errors []struct{ Code, Message string }
	}
	_ = json.Unmarshal(r.body, &body)
	if len(body.Errors) > 0 {
		return r.status, body.Errors[0].Code + ": " + body.Errors[0].Message
	}
	return r.status, ""
}

func TestTrustWithRealCosign(t *testing.T) {
	a := startAuthApp(t)
	cosign := newCosign(t, a)
	trustProject(t, a, "signed")
	trustedKey, trustedPub, trustedPEM := cosign.keyPair("trusted")
	untrustedKey, _, _ := cosign.keyPair("untrusted")
	e2eAdmin(t, a, http.MethodPost, "/projects/signed/trust/keys", api.TrustKeyReq{Name: "ci", PEM: string(trustedPEM)}, http.StatusCreated)
	e2eAdmin(t, a, http.MethodPut, "/projects/signed/trust/policy", api.TrustPolicy{Mode: "any"}, http.StatusOK)

	ref := func(d v1.Hash) string { return a.host + "/signed/app@" + d.String() }
	good := e2ePushRandom(t, a, "signed/app:good")
	unsigned := e2ePushRandom(t, a, "signed/app:unsigned")
	untrusted := e2ePushRandom(t, a, "signed/app:untrusted")

	// Pulls are refused before any signature, except for those who may
	// push: cosign sign reads the manifest it signs.
	status, msg := e2ePull(t, a, "signed/app", good)
	assert.Equal(t, http.StatusPreconditionFailed, status, msg)
	status, msg = e2ePullAs(t, a, "admin", e2eAdminPassword, "signed/app", good)
	assert.Equal(t, http.StatusOK, status, msg)

	cosign.sign(trustedKey, ref(good))
	status, msg = e2ePull(t, a, "signed/app", good)
	assert.Equal(t, http.StatusOK, status, msg)

	status, msg = e2ePull(t, a, "signed/app", unsigned)
	assert.Equal(t, http.StatusPreconditionFailed, status)
	assert.Contains(t, msg, "no signature found")

	cosign.sign(untrustedKey, ref(untrusted))
	status, msg = e2ePull(t, a, "signed/app", untrusted)
	assert.Equal(t, http.StatusPreconditionFailed, status)
	assert.Contains(t, msg, "found 1 cosign signature")
	assert.Contains(t, msg, "made by an untrusted key")
	t.Logf("refusal: %s", msg)

	// cosign verify reads the signature (never blocked) and the image.
	out, err := cosign.verify(trustedPub, ref(good))
	require.NoError(t, err, out)

	// The OCI 1.1 referrer form.
	referred := e2ePushRandom(t, a, "signed/app:referrer")
	cosign.sign(trustedKey, ref(referred), "--registry-referrers-mode=oci-1-1")
	status, msg = e2ePull(t, a, "signed/app", referred)
	assert.Equal(t, http.StatusOK, status, msg)

	// A multi-platform image: cosign signs the index; its images are
	// pulled with it.
	idx, err := random.Index(256, 1, 2)
	require.NoError(t, err)
	idxRef, err := name.ParseReference(a.host+"/signed/multi:v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, ggcrremote.WriteIndex(idxRef, idx, e2eRemoteOptions(t, "admin", e2eAdminPassword)...))
	idxDigest, err := idx.Digest()
	require.NoError(t, err)
	im, err := idx.IndexManifest()
	require.NoError(t, err)
	status, _ = e2ePull(t, a, "signed/multi", idxDigest)
	assert.Equal(t, http.StatusPreconditionFailed, status)
	cosign.sign(trustedKey, a.host+"/signed/multi@"+idxDigest.String())
	status, msg = e2ePull(t, a, "signed/multi", idxDigest)
	assert.Equal(t, http.StatusOK, status, msg)
	for _, m := range im.Manifests {
		status, msg = e2ePull(t, a, "signed/multi", m.Digest)
		assert.Equal(t, http.StatusOK, status, msg)
	}

	// cosign's new bundle format (a sigstore v0.3 bundle with a DSSE
	// envelope, as cosign v3 writes by default).
	bundled := e2ePushRandom(t, a, "signed/app:bundle")
	cosign.sign(trustedKey, ref(bundled), "--new-bundle-format", "--use-signing-config=false")
	status, msg = e2ePull(t, a, "signed/app", bundled)
	assert.Equal(t, http.StatusOK, status, msg)
	bv := e2eJSON[api.TrustVerification](t, e2eAdmin(t, a, http.MethodGet,
		"/projects/signed/repositories/app/artifacts/bundle/signatures", nil, http.StatusOK))
	require.Len(t, bv.Signatures, 1, "%+v", bv)
	assert.Equal(t, "bundle", bv.Signatures[0].Form)
	assert.True(t, bv.Signatures[0].Verified)

	// The verified signers, with the artifact.
	r := e2eAdmin(t, a, http.MethodGet, "/projects/signed/repositories/app/artifacts/good/signatures", nil, http.StatusOK)
	v := e2eJSON[api.TrustVerification](t, r)
	assert.True(t, v.Allowed)
	require.NotEmpty(t, v.Signers)
	assert.Equal(t, "ci", v.Signers[0].Name)

	// berth signs; the real cosign verifies.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(key.Public())
	require.NoError(t, err)
	berthPub := filepath.Join(cosign.dir, "berth.pub")
	require.NoError(t, os.WriteFile(berthPub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	bySDK := e2ePushRandom(t, a, "signed/app:by-berth")
	desc := e2eDescriptor(t, a, "signed/app", bySDK)
	_, err = trust.SignCosign(t.Context(), trust.Registry(a.Registry().Transport("signer"), "http://berth.internal"),
		trust.Subject{Repository: "signed/app", Digest: desc.Digest, MediaType: desc.MediaType, Size: desc.Size},
		key, trust.CosignOptions{Identity: a.host + "/signed/app"})
	require.NoError(t, err)
	out, err = cosign.verify(berthPub, ref(bySDK))
	require.NoError(t, err, out)
	out, err = cosign.verify(trustedPub, ref(bySDK))
	require.Error(t, err, "a signature by another key must not verify: %s", out)
}

// e2eDescriptor reads a manifest's descriptor, past the gate.
func e2eDescriptor(t *testing.T, a *authApp, repo string, d v1.Hash) ocispec.Descriptor {
	t.Helper()
	art, err := a.Registry().GetArtifact(t.Context(), repo, d.String())
	require.NoError(t, err)
	return ocispec.Descriptor{MediaType: art.MediaType, Digest: art.Digest, Size: art.Size}
}

// testPKI is a CA and a code-signing leaf certificate it issued.
func testPKI(t *testing.T, cn string) (*ecdsa.PrivateKey, []*x509.Certificate) {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now()
	caT := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: cn + " CA"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caT, caT, caKey.Public(), caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	lt := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: cn}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(24 * time.Hour), KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	leafDER, err := x509.CreateCertificate(rand.Reader, lt, ca, key.Public(), caKey)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(leafDER)
	require.NoError(t, err)
	return key, []*x509.Certificate{leaf, ca}
}

// notationRepo is notation-go's view of repo on a, over HTTP as admin, as
// the notation CLI would reach it.
func notationRepo(t *testing.T, a *authApp, repo string) notationreg.Repository {
	t.Helper()
	r, err := remote.NewRepository(a.host + "/" + repo)
	require.NoError(t, err)
	r.PlainHTTP = true
	r.Client = &auth.Client{Client: a.srv.Client(), Cache: auth.NewCache(),
		Credential: auth.StaticCredential(a.host, auth.Credential{Username: "admin", Password: e2eAdminPassword})}
	return notationreg.NewRepository(r)
}

// memTrustStore is an in-memory notation trust store.
type memTrustStore []*x509.Certificate

func (s memTrustStore) GetCertificates(context.Context, truststore.Type, string) ([]*x509.Certificate, error) {
	return s, nil
}

// notationVerify verifies repo@d as `notation verify` would, with
// notation-go's verifier and a trust policy trusting ca.
func notationVerify(t *testing.T, a *authApp, repo string, d v1.Hash, ca *x509.Certificate) error {
	t.Helper()
	doc := &trustpolicy.Document{Version: "1.0", TrustPolicies: []trustpolicy.TrustPolicy{{
		Name: "e2e", RegistryScopes: []string{a.host + "/" + repo},
		SignatureVerification: trustpolicy.SignatureVerification{VerificationLevel: "strict",
			Override: map[trustpolicy.ValidationType]trustpolicy.ValidationAction{trustpolicy.TypeRevocation: trustpolicy.ActionSkip}},
		TrustStores: []string{"ca:e2e"}, TrustedIdentities: []string{"*"}}}}
	v, err := verifier.NewWithOptions(doc, memTrustStore{ca}, nil, verifier.VerifierOptions{})
	require.NoError(t, err)
	_, _, err = notation.Verify(t.Context(), v, notationRepo(t, a, repo), notation.VerifyOptions{
		ArtifactReference: a.host + "/" + repo + "@" + d.String(), MaxSignatureAttempts: 10})
	return err
}

func TestTrustWithNotation(t *testing.T) {
	a := startAuthApp(t)
	trustProject(t, a, "notary")
	e2eAdmin(t, a, http.MethodPut, "/projects/notary/trust/policy", api.TrustPolicy{Mode: "any", Format: "notation"}, http.StatusOK)

	// A client signs with notation-go (the notation CLI's library), over
	// HTTP with credentials.
	key, chain := testPKI(t, "builder")
	img := e2ePushRandom(t, a, "notary/app:v1")
	s, err := signer.NewGenericSigner(key, chain)
	require.NoError(t, err)
	for _, env := range []string{"application/jose+json", "application/cose"} {
		_, err = notation.Sign(t.Context(), s, notationRepo(t, a, "notary/app"), notation.SignOptions{
			SignerSignOptions: notation.SignerSignOptions{SignatureMediaType: env}, ArtifactReference: img.String()})
		require.NoError(t, err, env)
	}
	status, msg := e2ePull(t, a, "notary/app", img)
	assert.Equal(t, http.StatusPreconditionFailed, status)
	assert.Contains(t, msg, "found 2 notation signatures")
	t.Logf("refusal: %s", msg)

	e2eAdmin(t, a, http.MethodPost, "/projects/notary/trust/keys",
		api.TrustKeyReq{Name: "builders", PEM: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: chain[1].Raw}))}, http.StatusCreated)
	status, msg = e2ePull(t, a, "notary/app", img)
	assert.Equal(t, http.StatusOK, status, msg)
	require.NoError(t, notationVerify(t, a, "notary/app", img, chain[1]))

	// Named signers: the leaf's subject passes, another does not.
	e2eAdmin(t, a, http.MethodPut, "/projects/notary/trust/policy",
		api.TrustPolicy{Mode: "signers", Signers: []string{"CN=someone else"}}, http.StatusOK)
	status, _ = e2ePull(t, a, "notary/app", img)
	assert.Equal(t, http.StatusPreconditionFailed, status)
	e2eAdmin(t, a, http.MethodPut, "/projects/notary/trust/policy",
		api.TrustPolicy{Mode: "signers", Signers: []string{chain[0].Subject.String()}}, http.StatusOK)
	status, msg = e2ePull(t, a, "notary/app", img)
	assert.Equal(t, http.StatusOK, status, msg)

	// berth signs in process; notation-go's verify accepts it over HTTP.
	key2, chain2 := testPKI(t, "berth")
	other := e2ePushRandom(t, a, "notary/app:v2")
	_, err = trust.SignNotation(t.Context(), "berth.internal", "notary/app", digestOf(other), key2, chain2,
		trust.NotationOptions{PlainHTTP: true, Client: &http.Client{Transport: a.Registry().Transport("signer")}})
	require.NoError(t, err)
	require.NoError(t, notationVerify(t, a, "notary/app", other, chain2[1]))
	require.Error(t, notationVerify(t, a, "notary/app", other, chain[1]), "a signature by another CA must not verify")

	// Harbor's enable_content_trust on a project with no trust policy of
	// its own: any trusted signature.
	trustProject(t, a, "harbor")
	plain := e2ePushRandom(t, a, "harbor/app:v1")
	status, _ = e2ePull(t, a, "harbor/app", plain)
	assert.Equal(t, http.StatusOK, status)
	on := "true"
	e2eAdmin(t, a, http.MethodPut, "/projects/harbor", api.ProjectReq{ProjectName: "harbor",
		Metadata: &api.ProjectMetadata{EnableContentTrust: &on}}, http.StatusOK)
	status, msg = e2ePull(t, a, "harbor/app", plain)
	assert.Equal(t, http.StatusPreconditionFailed, status, msg)
}

func digestOf(h v1.Hash) digest.Digest { return digest.Digest(h.String()) }
