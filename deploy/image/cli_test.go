package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

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
		{[]string{"-push", "127.0.0.1:1/a/b:c", "-sign-key", notKey}, "want an unencrypted PEM private key"},
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
