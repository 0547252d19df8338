package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/internal/testtool"
)

// chartArchive packages a minimal chart name-version as a .tgz.
func chartArchive(t *testing.T, name, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	files := map[string]string{
		name + "/Chart.yaml":        "apiVersion: v2\nname: " + name + "\nversion: " + version + "\ndescription: test chart\n",
		name + "/values.yaml":       "replicas: 1\n",
		name + "/templates/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}\n",
	}
	for path, body := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: path, Mode: 0o644, Size: int64(len(body)), ModTime: time.Unix(0, 0)}))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	return buf.Bytes()
}

// Charts share the server's RBAC and audit log: a developer uploads, anyone
// reads a public project's index, a guest may not upload.
func TestChartsThroughTheServer(t *testing.T) {
	a := startAuthApp(t)
	e2eCreateProject(t, a, "charts", true)
	e2eCreateUser(t, a, "dev", "dev-password-1")
	e2eAddUserMember(t, a, "charts", "dev", 2)
	e2eCreateUser(t, a, "visitor", "visitor-password-1")
	e2eAddUserMember(t, a, "charts", "visitor", 3)

	upload := func(user, pass string) int {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, a.srv.URL+"/api/chartrepo/charts/charts",
			bytes.NewReader(chartArchive(t, "web", "1.0.0")))
		require.NoError(t, err)
		req.SetBasicAuth(user, pass)
		resp, err := a.srv.Client().Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, upload("visitor", "visitor-password-1"), "a guest may not upload")
	assert.Equal(t, http.StatusCreated, upload("dev", "dev-password-1"))
	assert.Equal(t, http.StatusConflict, upload("dev", "dev-password-1"), "the same version again")

	r := e2eDo(t, a, "", "", http.MethodGet, "/chartrepo/charts/index.yaml", nil)
	require.Equal(t, http.StatusOK, r.status, "anyone reads a public project's index: %s", r)
	assert.Contains(t, string(r.body), "name: web")
	assert.Contains(t, string(r.body), "charts/web-1.0.0.tgz")

	require.NoError(t, a.Audit().Close(context.Background()))
	entries, _, err := a.AuditLog().Query(t.Context(), audit.Filter{Actor: "dev"}, audit.Page{Limit: 50})
	require.NoError(t, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" "+e.Resource)
	}
	assert.Contains(t, strings.Join(actions, "\n"), "chart-upload charts/web:1.0.0")
}

// helm push oci:// stores a chart as an OCI artifact in the registry, and
// helm pull oci:// gets the same archive back.
func TestHelmOCIPushPull(t *testing.T) {
	helm := testtool.Require(t, "helm")
	a := startAuthApp(t)
	e2eCreateProject(t, a, "ocicharts", false)
	dir := t.TempDir()
	archive := filepath.Join(dir, "web-1.2.3.tgz")
	require.NoError(t, os.WriteFile(archive, chartArchive(t, "web", "1.2.3"), 0o600))
	run := func(args ...string) (string, error) {
		ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, helm, args...)
		cmd.Env = append(os.Environ(), "HOME="+dir, "HELM_REGISTRY_CONFIG="+filepath.Join(dir, "registry.json"),
			"HELM_CACHE_HOME="+filepath.Join(dir, "cache"), "HELM_CONFIG_HOME="+filepath.Join(dir, "config"))
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	out, err := run("registry", "login", a.host, "-u", "admin", "-p", e2eAdminPassword, "--insecure")
	require.NoError(t, err, out)
	out, err = run("push", archive, "oci://"+a.host+"/ocicharts", "--plain-http")
	require.NoError(t, err, out)
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "pulled"), 0o700))
	out, err = run("pull", "oci://"+a.host+"/ocicharts/web", "--version", "1.2.3", "--plain-http", "-d", filepath.Join(dir, "pulled"))
	require.NoError(t, err, out)
	got, err := os.ReadFile(filepath.Join(dir, "pulled", "web-1.2.3.tgz"))
	require.NoError(t, err)
	want, _ := os.ReadFile(archive)
	assert.Equal(t, want, got, "the same archive comes back")
	out, err = run("template", "r1", filepath.Join(dir, "pulled", "web-1.2.3.tgz"))
	require.NoError(t, err, out)
	assert.Contains(t, out, "kind: ConfigMap")

	// The management API shows the chart's metadata, read from its config.
	r := e2eAdmin(t, a, http.MethodGet, "/projects/ocicharts/repositories/web/artifacts/1.2.3", nil, http.StatusOK)
	var art struct {
		Type       string         `json:"type"`
		ExtraAttrs map[string]any `json:"extra_attrs"`
	}
	require.NoError(t, json.Unmarshal(r.body, &art))
	assert.Equal(t, "CHART", art.Type)
	assert.Equal(t, "web", art.ExtraAttrs["name"])
	assert.Equal(t, "1.2.3", art.ExtraAttrs["version"])
	assert.Equal(t, "test chart", art.ExtraAttrs["description"])
}
