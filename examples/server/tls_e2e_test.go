package main

// The server speaks TLS itself: a self-signed development mode whose CA a
// real client (crane) trusts, HTTP/2, and certificate files replaced in
// place (as cert-manager renews them) picked up without a restart.

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/testtool"
)

// poolOf reads a PEM file into a certificate pool.
func poolOf(t *testing.T, path string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	pool := x509.NewCertPool()
	require.True(t, pool.AppendCertsFromPEM(b), "no certificate in %s", path)
	return pool
}

func TestTLSSelfSignedWithRealClient(t *testing.T) {
	crane := testtool.Require(t, "crane")
	dir := t.TempDir()
	caFile := filepath.Join(dir, "tls", "ca.crt")
	s := startServerTLS(t, dir, func() *x509.CertPool { return poolOf(t, caFile) }, "-tls-self-signed")

	resp, err := s.client.Get(s.URL + "/v2/")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, "HTTP/2.0", resp.Proto, "HTTP/2 over TLS")

	// crane verifies the certificate (no --insecure), trusting only the CA.
	img := writeRandomImage(t)
	ref := s.addr + "/library/app:v1"
	run := func(args ...string) string {
		cmd := exec.CommandContext(t.Context(), crane, args...)
		cmd.Env = append(os.Environ(), "SSL_CERT_FILE="+caFile, "HOME="+t.TempDir())
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "crane %s: %s", strings.Join(args, " "), out)
		return strings.TrimSpace(string(out))
	}
	run("push", img, ref)
	digest := run("digest", ref)
	assert.True(t, strings.HasPrefix(digest, "sha256:"), digest)

	cmd := exec.CommandContext(t.Context(), crane, "digest", ref)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "SSL_CERT_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	require.Error(t, err, "without the CA the certificate is refused: %s", out)
	assert.Contains(t, string(out), "certificate")

	// A restart keeps the CA: clients that trust it keep working.
	s.stop()
	before, err := os.ReadFile(caFile)
	require.NoError(t, err)
	s = startServerTLS(t, dir, func() *x509.CertPool { return poolOf(t, caFile) }, "-tls-self-signed")
	after, err := os.ReadFile(caFile)
	require.NoError(t, err)
	assert.Equal(t, before, after)
	resp, err = s.client.Get(s.URL + "/v2/")
	require.NoError(t, err)
	resp.Body.Close()
}

// issue writes a key pair for 127.0.0.1 signed by ca (self-signed when ca
// is nil) to certFile and keyFile, and returns the certificate.
func issue(t *testing.T, certFile, keyFile string, serial int64, ca *tls.Certificate) *x509.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "berth test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	parent, signer := tmpl, any(key)
	if ca != nil {
		parent, signer = ca.Leaf, ca.PrivateKey
	} else {
		tmpl.IsCA, tmpl.BasicConstraintsValid, tmpl.KeyUsage = true, true, x509.KeyUsageCertSign|x509.KeyUsageDigitalSignature
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	require.NoError(t, err)
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	// Written as a renewal does: new files renamed over the old ones.
	for path, block := range map[string]*pem.Block{certFile: {Type: "CERTIFICATE", Bytes: der}, keyFile: {Type: "PRIVATE KEY", Bytes: keyDER}} {
		require.NoError(t, os.WriteFile(path+".new", pem.EncodeToMemory(block), 0o600))
		require.NoError(t, os.Rename(path+".new", path))
	}
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return cert
}

func TestTLSCertificateFilesReloaded(t *testing.T) {
	dir := t.TempDir()
	caCert, caKey := filepath.Join(dir, "ca.crt"), filepath.Join(dir, "ca.key")
	issue(t, caCert, caKey, 1, nil)
	ca, err := tls.LoadX509KeyPair(caCert, caKey)
	require.NoError(t, err)
	certFile, keyFile := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	issue(t, certFile, keyFile, 100, &ca)
	s := startServerTLS(t, filepath.Join(dir, "data"), func() *x509.CertPool { return poolOf(t, caCert) },
		"-tls-cert-file", certFile, "-tls-key-file", keyFile)

	served := func() int64 {
		conn, err := tls.Dial("tcp", s.addr, &tls.Config{RootCAs: poolOf(t, caCert)})
		require.NoError(t, err)
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
	}
	require.Equal(t, int64(100), served())
	issue(t, certFile, keyFile, 200, &ca)
	waitFor(t, 10*time.Second, "the renewed certificate is served", func() bool { return served() == 200 })

	// A broken renewal (a key that does not match) keeps the last good pair.
	require.NoError(t, os.WriteFile(keyFile, []byte("not a key"), 0o600))
	time.Sleep(1100 * time.Millisecond)
	assert.Equal(t, int64(200), served())
	assert.False(t, s.exited())
}
