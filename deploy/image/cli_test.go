package main

import (
	"bytes"
	"crypto/elliptic"
	"os"
	"path/filepath"
	"testing"

	"github.com/sigstore/sigstore/pkg/cryptoutils"
	"github.com/stretchr/testify/require"

	"github.com/stretchr/testify/assert"
)

// The command refuses bad input before it builds anything.
func TestCLIRefusesBadInput(t *testing.T) {
	dir := t.TempDir()
	notKey := filepath.Join(dir, "not-a-key.pem")
	if err := os.WriteFile(notKey, []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "nothing to do"},
		{[]string{"-out", dir, "-platforms", "windows/amd64"}, `platform "windows/amd64": want linux/<arch>`},
		{[]string{"-out", dir, "-platforms", "linux/../x"}, "want linux/<arch>"},
		{[]string{"-out", dir, "-platforms", "linux/amd64,linux/amd64"}, "given twice"},
		{[]string{"-out", dir, "-platforms", ""}, "want linux/<arch>"},
		{[]string{"-out", dir, "-sign-key", notKey}, "give -push too"},
		{[]string{"-push", "127.0.0.1:1/a/b:c", "-sign-key", filepath.Join(dir, "missing.pem")}, "no such file"},
		{[]string{"-push", "127.0.0.1:1/a/b:c", "-sign-key", notKey}, "want a PEM private key"},
		{[]string{"-out", dir, "extra"}, "unexpected arguments"},
	} {
		var stdout, stderr bytes.Buffer
		code := cli(t.Context(), c.args, &stdout, &stderr)
		assert.NotEqual(t, 0, code, "%q", c.args)
		assert.Contains(t, stderr.String(), c.want, "%q", c.args)
		assert.Empty(t, stdout.String())
	}
}

func TestEpochFromEnvironment(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	m, err := metaOf(t.Context(), options{src: t.TempDir(), version: "v"})
	assert.NoError(t, err)
	assert.Equal(t, int64(1700000000), m.Created.Unix())
	assert.Empty(t, m.Revision, "not a git checkout: no revision label")

	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	_, err = metaOf(t.Context(), options{src: t.TempDir()})
	assert.ErrorContains(t, err, "SOURCE_DATE_EPOCH")
}

func TestCLIHelp(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Equal(t, 0, cli(t.Context(), []string{"-h"}, &stdout, &stderr))
	assert.Contains(t, stderr.String(), "-sign-key")
}

// cosign generate-key-pair writes an encrypted key (sigstore's
// cryptoutils, as here); -sign-key reads it with COSIGN_PASSWORD.
func TestLoadKeyReadsCosignKeys(t *testing.T) {
	priv, _, err := cryptoutils.GeneratePEMEncodedECDSAKeyPair(elliptic.P256(), cryptoutils.StaticPasswordFunc([]byte("pw")))
	require.NoError(t, err)
	assert.Contains(t, string(priv), "ENCRYPTED SIGSTORE PRIVATE KEY")
	file := filepath.Join(t.TempDir(), "cosign.key")
	require.NoError(t, os.WriteFile(file, priv, 0o600))

	t.Setenv("COSIGN_PASSWORD", "pw")
	k, err := loadKey(file)
	require.NoError(t, err)
	assert.NotNil(t, k.Public())

	t.Setenv("COSIGN_PASSWORD", "wrong")
	_, err = loadKey(file)
	assert.ErrorContains(t, err, "COSIGN_PASSWORD")
}
