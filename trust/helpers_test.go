package trust_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
	"github.com/berthlabs/berth/trust"
)

// env is a registry in memory with the trust gate in front of it.
type env struct {
	reg    *registry.Registry
	client *trust.Client // in-process, past the gate
	store  *trust.Store
	gate   *trust.Gate
	srv    *httptest.Server // the registry over HTTP, gate on
}

// lateGate forwards to a gate built after the registry.
type lateGate struct{ g *trust.Gate }

func (l *lateGate) CheckPull(ctx context.Context, t registry.Target) error {
	return l.g.CheckPull(ctx, t)
}
func (l *lateGate) Emit(ctx context.Context, e registry.Event) { l.g.Emit(ctx, e) }

func newEnv(t testing.TB, opts ...registry.Option) *env { return newEnvOn(t, nil, opts...) }

// newEnvOn is newEnv with the registry and the trust store in db (nil:
// each in a private in-memory SQLite database).
func newEnvOn(t testing.TB, db *sqldb.DB, opts ...registry.Option) *env {
	t.Helper()
	ctx := context.Background()
	late := &lateGate{}
	opts = append([]registry.Option{registry.WithPullGate(late), registry.WithEventSink(late)}, opts...)
	reg, err := registry.New(ctx, memory.New(), db, opts...)
	require.NoError(t, err)
	st, err := trust.NewStore(ctx, db)
	require.NoError(t, err)
	c := trust.Registry(reg.Transport("trust"), "http://berth.internal")
	late.g = trust.NewGate(c, st)
	srv := httptest.NewServer(reg)
	t.Cleanup(srv.Close)
	return &env{reg: reg, client: c, store: st, gate: late.g, srv: srv}
}

// pushImage pushes a small random image to repo:tag and returns it.
func (e *env) pushImage(t testing.TB, repo, tag string) trust.Subject {
	t.Helper()
	ctx := context.Background()
	layer := make([]byte, 64)
	_, _ = rand.Read(layer)
	ld, err := e.client.PushBlob(ctx, repo, layer)
	require.NoError(t, err)
	cfg := []byte(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["` + ld.String() + `"]}}`)
	cd, err := e.client.PushBlob(ctx, repo, cfg)
	require.NoError(t, err)
	m := ocispec.Manifest{MediaType: ocispec.MediaTypeImageManifest,
		Config: ocispec.Descriptor{MediaType: ocispec.MediaTypeImageConfig, Digest: cd, Size: int64(len(cfg))},
		Layers: []ocispec.Descriptor{{MediaType: ocispec.MediaTypeImageLayer, Digest: ld, Size: int64(len(layer))}}}
	m.SchemaVersion = 2
	b, err := json.Marshal(m)
	require.NoError(t, err)
	d, err := e.client.PushManifest(ctx, repo, tag, ocispec.MediaTypeImageManifest, b)
	require.NoError(t, err)
	return trust.Subject{Repository: repo, Digest: d, MediaType: ocispec.MediaTypeImageManifest, Size: int64(len(b))}
}

// pull GETs a manifest through the gate, over HTTP, and returns the status
// and body.
func (e *env) pull(t testing.TB, repo, ref string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+"/v2/"+repo+"/manifests/"+ref, nil)
	require.NoError(t, err)
	req.Header.Set("Accept", ocispec.MediaTypeImageManifest)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body json.RawMessage
	_ = json.NewDecoder(resp.Body).Decode(&body)
	return resp.StatusCode, string(body)
}

func (e *env) addPEM(t testing.TB, project, name string, pemText []byte) *trust.Entry {
	t.Helper()
	en, err := e.store.AddEntry(context.Background(), project, name, pemText)
	require.NoError(t, err)
	return en
}

func (e *env) setPolicy(t testing.TB, project string, p trust.Policy) {
	t.Helper()
	require.NoError(t, e.store.SetPolicy(context.Background(), project, p))
}

func ecKey(t testing.TB) *ecdsa.PrivateKey {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	return k
}

func edKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	return k
}

func rsaKey(t testing.TB) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

func pubPEM(t testing.TB, k crypto.Signer) []byte {
	der, err := x509.MarshalPKIXPublicKey(k.Public())
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func certPEM(c *x509.Certificate) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
}

// pki is a CA and a code-signing leaf it issued.
type pki struct {
	ca      *x509.Certificate
	leaf    *x509.Certificate
	leafKey *ecdsa.PrivateKey
}

type leafSpec struct {
	cn        string
	notBefore time.Time
	notAfter  time.Time
	eku       []x509.ExtKeyUsage
}

func newPKI(t testing.TB, spec leafSpec) pki {
	t.Helper()
	caKey := ecKey(t)
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: spec.cn + " CA", Organization: []string{"berth test"}},
		NotBefore: now.Add(-48 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	require.NoError(t, err)
	ca, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)
	if spec.notBefore.IsZero() {
		spec.notBefore, spec.notAfter = now.Add(-time.Hour), now.Add(30*24*time.Hour)
	}
	if spec.eku == nil {
		spec.eku = []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}
	}
	leafKey := ecKey(t)
	lt := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: spec.cn, Organization: []string{"berth test"}},
		NotBefore: spec.notBefore, NotAfter: spec.notAfter, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: spec.eku,
		BasicConstraintsValid: true}
	leafDER, err := x509.CreateCertificate(rand.Reader, lt, ca, leafKey.Public(), caKey)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(leafDER)
	require.NoError(t, err)
	return pki{ca: ca, leaf: leaf, leafKey: leafKey}
}

func (p pki) chain() []*x509.Certificate { return []*x509.Certificate{p.leaf, p.ca} }

// signNotation signs s in e's registry through notation-go, in process.
func (e *env) signNotation(t testing.TB, s trust.Subject, p pki, envelope string) {
	t.Helper()
	_, err := trust.SignNotation(context.Background(), "berth.internal", s.Repository, s.Digest, p.leafKey, p.chain(),
		trust.NotationOptions{EnvelopeType: envelope, PlainHTTP: true, Client: &http.Client{Transport: e.reg.Transport("signer")}})
	require.NoError(t, err)
}

func (e *env) signCosign(t testing.TB, s trust.Subject, k crypto.Signer, referrer bool) digest.Digest {
	t.Helper()
	d, err := trust.SignCosign(context.Background(), e.client, s, k, trust.CosignOptions{Referrer: referrer})
	require.NoError(t, err)
	return d
}

var _ = fmt.Sprintf

type cryptoSigner = crypto.Signer

// mustKey is a fresh ECDSA public key in PEM, for tests without a T.
func mustKey() []byte {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		panic(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(k.Public())
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func memoryDriver() *memory.Driver { return memory.New() }

// pushSameImage copies s's manifest and blobs from e into c.
func pushSameImage(t testing.TB, c *trust.Client, e *env, s trust.Subject) digest.Digest {
	t.Helper()
	ctx := context.Background()
	_, b, err := e.client.Manifest(ctx, s.Repository, s.Digest.String(), 1<<20)
	require.NoError(t, err)
	var m ocispec.Manifest
	require.NoError(t, json.Unmarshal(b, &m))
	for _, d := range append([]ocispec.Descriptor{m.Config}, m.Layers...) {
		blob, err := e.client.Blob(ctx, s.Repository, d.Digest, 1<<20)
		require.NoError(t, err)
		_, err = c.PushBlob(ctx, s.Repository, blob)
		require.NoError(t, err)
	}
	d, err := c.PushManifest(ctx, s.Repository, "v1", s.MediaType, b)
	require.NoError(t, err)
	return d
}
