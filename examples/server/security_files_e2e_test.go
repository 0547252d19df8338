package main

// End-to-end checks of the secrets-at-rest finding against the real
// server: a private data directory, the first admin's generated password
// in a file rather than the log, and metrics only for administrators or
// on a listener of their own.

import (
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// privateModes lists every file and directory under dir that group or
// others may read.
func openModes(t *testing.T, dir string) []string {
	t.Helper()
	var open []string
	require.NoError(t, filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if info.Mode().Perm()&0o077 != 0 {
			open = append(open, fmt.Sprintf("%s %v", strings.TrimPrefix(path, dir), info.Mode().Perm()))
		}
		return nil
	}))
	return open
}

func TestSecuritySecretsAtRest(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	require.NoError(t, os.MkdirAll(dir, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "left-over.txt"), []byte("x"), 0o644))
	t.Setenv("BERTH_ADMIN_PASSWORD", "")
	s := startServer(t, dir, "-auth=true")

	// The generated password is in a private file, never in the log.
	pwFile := filepath.Join(dir, "initial-admin-password")
	b, err := os.ReadFile(pwFile)
	require.NoError(t, err)
	password := strings.TrimSpace(string(b))
	require.NotEmpty(t, password)
	assert.NotContains(t, s.logs.String(), password)
	assert.Contains(t, s.logs.String(), pwFile)
	admin := basicAuth("admin", password)
	must(t, s.do(http.MethodGet, "/api/v2.0/users/current", nil, admin...), http.StatusOK, "the admin logs in with it")

	// Data written since start: a blob, a manifest, the database's WAL.
	public := true
	must(t, s.apiAs(t, admin, http.MethodPost, "/projects", map[string]any{"project_name": "p", "public": public}), http.StatusCreated, "project")
	layer, config := randomBytes(512), imageConfig("amd64")
	s.pushBlobAs(t, admin, "p/app", layer)
	s.pushBlobAs(t, admin, "p/app", config)
	must(t, s.do(http.MethodPut, "/v2/p/app/manifests/v1", imageManifest(t, config, layer),
		append([]string{"Content-Type", manifestType}, admin...)...), http.StatusCreated, "manifest")
	assert.Empty(t, openModes(t, dir), "every file and directory of the data directory is private")
	info, err := os.Stat(dir)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o700), info.Mode().Perm(), "an existing directory is tightened")

	// Metrics name repositories: administrators only.
	r := s.do(http.MethodGet, "/metrics", nil)
	assert.Equal(t, http.StatusUnauthorized, r.status)
	assert.NotContains(t, string(r.body), "p/app")
	must(t, s.do(http.MethodGet, "/metrics", nil, basicAuth("admin", "wrong-password")...), http.StatusUnauthorized, "wrong password")
	r = must(t, s.do(http.MethodGet, "/metrics", nil, admin...), http.StatusOK, "admin")
	assert.Contains(t, string(r.body), "# TYPE")
	s.stop()

	// Or on a listener of their own, for a scraper on a private network.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	metricsAddr := ln.Addr().String()
	require.NoError(t, ln.Close())
	s = startServer(t, dir, "-auth=true", "-metrics-addr", metricsAddr)
	assert.Equal(t, http.StatusNotFound, s.do(http.MethodGet, "/metrics", nil, admin...).status, "not on the main address")
	var resp *http.Response
	waitFor(t, startTimeout, "metrics on their own address", func() bool {
		resp, err = http.Get("http://" + metricsAddr + "/metrics")
		return err == nil
	})
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
