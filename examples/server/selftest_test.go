package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runSelftest runs "server selftest args..." in-process.
func runSelftest(args ...string) (code int, stdout, stderr string) {
	var out, errOut bytes.Buffer
	code = cli(append([]string{"selftest"}, args...), &out, &errOut)
	return code, out.String(), errOut.String()
}

// The Helm test hook's round trip against a server with auth on: it logs
// in through the token service, pushes, pulls, compares and deletes.
func TestSelftestPushesPullsAndDeletes(t *testing.T) {
	app := startE2EApp(t, nil)
	pw := filepath.Join(t.TempDir(), "password")
	require.NoError(t, os.WriteFile(pw, []byte(e2eAdminPassword+"\n"), 0o600))

	code, stdout, stderr := runSelftest("-url", "http://"+app.host, "-username", "admin",
		"-password-file", pw, "-repository", "library/selftest")
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
	assert.Regexp(t, `^berth selftest: ok: pushed, pulled and compared `+app.host+
		`/library/selftest@sha256:[0-9a-f]{64} \(\d+ bytes\); deleted it\n$`, stdout)

	// It cleaned up: the repository holds no tag.
	repo, err := name.NewRepository(app.host+"/library/selftest", name.Insecure)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(t.Context(), e2eRequestTimeout)
	defer cancel()
	tags, err := remote.List(repo, remote.WithContext(ctx),
		remote.WithAuth(&authn.Basic{Username: "admin", Password: e2eAdminPassword}))
	if err == nil {
		assert.Empty(t, tags, "the selftest's tag was deleted with its manifest")
	}
}

func TestSelftestReadsThePasswordFromTheEnvironment(t *testing.T) {
	app := startE2EApp(t, nil)
	t.Setenv(selftestPasswordEnv, e2eAdminPassword)
	code, stdout, stderr := runSelftest("-url", "http://"+app.host)
	require.Equal(t, 0, code, "stdout: %s\nstderr: %s", stdout, stderr)
	assert.Contains(t, stdout, "/library/berth-selftest@sha256:", "the default repository")
}

func TestSelftestFailsWithAWrongPassword(t *testing.T) {
	app := startE2EApp(t, nil)
	t.Setenv(selftestPasswordEnv, "not-the-password")
	code, stdout, _ := runSelftest("-url", "http://"+app.host, "-timeout", "30s")
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "berth selftest: FAIL "+app.host+": push ")
	assert.Contains(t, stdout, "invalid username or password")
}

func TestSelftestFailsWhenNothingAnswers(t *testing.T) {
	t.Setenv(selftestPasswordEnv, "x")
	code, stdout, _ := runSelftest("-url", "http://127.0.0.1:1", "-timeout", (10 * time.Second).String())
	assert.Equal(t, 1, code)
	assert.Contains(t, stdout, "berth selftest: FAIL 127.0.0.1:1: push ")
}

func TestSelftestRefusesBadUsage(t *testing.T) {
	t.Setenv(selftestPasswordEnv, "")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "-url is required"},
		{[]string{"-url", "ftp://host"}, `want http(s)://host[:port] and no path`},
		{[]string{"-url", "http://host/v2/"}, "no path"},
		{[]string{"-url", "http://host", "-repository", "UPPER/case"}, "-repository"},
		{[]string{"-url", "http://host"}, `no password for "admin"`},
		{[]string{"-url", "http://host", "-password-file", "/nonexistent/pw"}, "-password-file"},
		{[]string{"-bogus"}, "flag provided but not defined"},
	} {
		code, _, stderr := runSelftest(tc.args...)
		assert.Equal(t, 2, code, "%v", tc.args)
		assert.Contains(t, stderr, tc.want, "%v", tc.args)
	}
}
