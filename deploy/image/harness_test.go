package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/deploy/image/internal/sbom"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/server"
)

const adminPassword = "image-test-admin-1"

// berth is a berth server running in this process.
type berth struct {
	*server.Server
	url, host string
}

// startBerth starts berth with content trust on and a public project
// whose policy requires a cosign signature by the key whose public PEM
// is given.
func startBerth(t *testing.T, project, pubPEM string) *berth {
	t.Helper()
	srv := httptest.NewUnstartedServer(nil)
	host := srv.Listener.Addr().String()
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.ExternalURL, cfg.AdminPassword = t.TempDir(), "http://"+host, adminPassword
	cfg.Trust.Enabled, cfg.Trivy.Enabled = true, false
	s, err := server.New(context.Background(), cfg, server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	if err != nil {
		srv.Close()
		require.NoError(t, err)
	}
	srv.Config.Handler = s.Handler()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		_ = s.Close(context.Background())
	})
	b := &berth{Server: s, url: srv.URL, host: host}
	b.createSignedProject(t, project, pubPEM)
	return b
}

func (b *berth) createSignedProject(t *testing.T, name, pubPEM string) {
	t.Helper()
	_, err := b.Projects().Create(t.Context(), projectPublic(name))
	require.NoError(t, err)
	b.admin(t, http.MethodPost, api.BasePath+"/projects/"+name+"/trust/keys",
		api.TrustKeyReq{Name: "image-builder", PEM: pubPEM}, http.StatusCreated)
	b.admin(t, http.MethodPut, api.BasePath+"/projects/"+name+"/trust/policy",
		api.TrustPolicy{Mode: "signers", Format: "cosign", Signers: []string{"image-builder"}}, http.StatusOK)
}

func projectPublic(name string) project.Project { return project.Project{Name: name, Public: true} }

// admin sends a JSON request as the system admin and requires status.
func (b *berth) admin(t *testing.T, method, path string, body any, status int) []byte {
	t.Helper()
	var rd io.Reader
	if body != nil {
		j, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, b.url+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth("admin", adminPassword)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	require.Equal(t, status, resp.StatusCode, "%s %s: %s", method, path, out)
	return out
}

// get sends an anonymous GET (a pull-only caller, so the trust gate
// applies) and returns the status and body.
func (b *berth) get(t *testing.T, path, accept string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, b.url+path, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	require.NoError(t, err)
	return resp.StatusCode, body
}

// signingKey writes an ECDSA P-256 key pair: the private key as PKCS#8
// PEM (what -sign-key reads) and the public key as cosign.pub.
func signingKey(t *testing.T) (keyFile, pubFile, pubPEM string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	pub, err := x509.MarshalPKIXPublicKey(k.Public())
	require.NoError(t, err)
	dir := t.TempDir()
	keyFile, pubFile = filepath.Join(dir, "sign.pem"), filepath.Join(dir, "cosign.pub")
	pubPEM = string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}))
	require.NoError(t, os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600))
	require.NoError(t, os.WriteFile(pubFile, []byte(pubPEM), 0o600))
	return keyFile, pubFile, pubPEM
}

// cosignKeyPair makes a key pair with the real cosign (its encrypted key
// format, password password) and returns the files and the public PEM.
func cosignKeyPair(t *testing.T, cosign, password string) (keyFile, pubFile, pubPEM string) {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.CommandContext(t.Context(), cosign, "generate-key-pair", "--output-key-prefix", filepath.Join(dir, "cosign"))
	cmd.Dir, cmd.Env = dir, append(os.Environ(), "COSIGN_PASSWORD="+password, "HOME="+dir)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "cosign generate-key-pair: %s", out)
	pub, err := os.ReadFile(filepath.Join(dir, "cosign.pub"))
	require.NoError(t, err)
	return filepath.Join(dir, "cosign.key"), filepath.Join(dir, "cosign.pub"), string(pub)
}

// runTool runs a client program with a docker config holding the admin's
// credentials for b, and returns its combined output.
func (b *berth) runTool(t *testing.T, bin string, args ...string) (string, error) {
	t.Helper()
	dir := t.TempDir()
	cfg := `{"auths":{"` + b.host + `":{"auth":"` + base64.StdEncoding.EncodeToString([]byte("admin:"+adminPassword)) + `"}}}`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "config.json"), []byte(cfg), 0o600))
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DOCKER_CONFIG="+dir, "HOME="+dir, "TUF_ROOT="+filepath.Join(dir, "tuf"), "SIGSTORE_NO_CACHE=true")
	out, err := cmd.CombinedOutput()
	t.Logf("%s %s:\n%s", filepath.Base(bin), strings.Join(args, " "), out)
	return string(out), err
}

// sbomOf finds the one SPDX referrer of repo@d through the referrers API,
// as a pull-only caller, and parses it.
func (b *berth) sbomOf(t *testing.T, repo string, d v1.Hash) sbom.Document {
	t.Helper()
	status, body := b.get(t, "/v2/"+repo+"/referrers/"+d.String()+"?artifactType="+url.QueryEscape(sbom.MediaType), "")
	require.Equal(t, http.StatusOK, status, "%s", body)
	var refs ocispec.Index
	require.NoError(t, json.Unmarshal(body, &refs))
	require.Len(t, refs.Manifests, 1, "%s", body)
	require.Equal(t, sbom.MediaType, refs.Manifests[0].ArtifactType)
	status, body = b.get(t, "/v2/"+repo+"/manifests/"+refs.Manifests[0].Digest.String(), ocispec.MediaTypeImageManifest)
	require.Equal(t, http.StatusOK, status, "%s", body)
	var m ocispec.Manifest
	require.NoError(t, json.Unmarshal(body, &m))
	require.Len(t, m.Layers, 1)
	require.Equal(t, d.String(), m.Subject.Digest.String())
	status, body = b.get(t, "/v2/"+repo+"/blobs/"+m.Layers[0].Digest.String(), "")
	require.Equal(t, http.StatusOK, status)
	var doc sbom.Document
	require.NoError(t, json.Unmarshal(body, &doc))
	require.NotEmpty(t, doc.Packages)
	return doc
}
