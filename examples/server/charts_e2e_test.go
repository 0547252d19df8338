package main

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/audit"
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

	require.NoError(t, a.id.recorder.Close(context.Background()))
	entries, _, err := a.id.audit.Query(t.Context(), audit.Filter{Actor: "dev"}, audit.Page{Limit: 50})
	require.NoError(t, err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action+" "+e.Resource)
	}
	assert.Contains(t, strings.Join(actions, "\n"), "chart-upload charts/web:1.0.0")
}
