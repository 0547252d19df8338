package server_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// startChartServer is a berth server with auth, charts and replication.
func startChartServer(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	hs := httptest.NewUnstartedServer(nil)
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", wiringAdminPassword, "http://"+hs.Listener.Addr().String()
	cfg.Scan.Enabled, cfg.Replication.Enabled, cfg.Charts.Enabled = false, true, true
	srv, err := server.New(ctx, cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close(t.Context())
	})
	return hs.URL
}

// chartArchive packages a minimal chart.
func chartArchive(t *testing.T, name, version string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	body := fmt.Sprintf("apiVersion: v2\nname: %s\nversion: %s\n", name, version)
	require.NoError(t, tw.WriteHeader(&tar.Header{Name: name + "/Chart.yaml", Mode: 0o644, Size: int64(len(body)),
		Typeflag: tar.TypeReg, ModTime: time.Unix(1700000000, 0)}))
	_, err := tw.Write([]byte(body))
	require.NoError(t, err)
	require.NoError(t, tw.Close())
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

// chartCall sends a request to the chart routes as the admin (or
// anonymously without a password).
func chartCall(t *testing.T, base, method, path, ctype string, body []byte, password string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, base+path, bytes.NewReader(body))
	require.NoError(t, err)
	if password != "" {
		req.SetBasicAuth("admin", password)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, b
}

func uploadChart(t *testing.T, base, project string, archive, prov []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for field, data := range map[string][]byte{"chart": archive, "prov": prov} {
		if data == nil {
			continue
		}
		w, err := mw.CreateFormFile(field, field)
		require.NoError(t, err)
		_, err = w.Write(data)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	status, body := chartCall(t, base, http.MethodPost, "/api/chartrepo/"+project+"/charts", mw.FormDataContentType(), buf.Bytes(), wiringAdminPassword)
	require.Equal(t, http.StatusCreated, status, string(body))
}

func createProject(t *testing.T, base, name string) {
	t.Helper()
	status, _, body := wiringCall(t, base, http.MethodPost, "/projects", map[string]any{"project_name": name})
	require.Equal(t, http.StatusCreated, status, string(body))
}

// runReplication creates a policy on base and runs it to its end.
func runReplication(t *testing.T, base string, policy map[string]any) (map[string]any, []map[string]any) {
	t.Helper()
	status, loc, body := wiringCall(t, base, http.MethodPost, "/replication/policies", policy)
	require.Equal(t, http.StatusCreated, status, string(body))
	var pid int64
	_, err := fmt.Sscanf(loc[len(loc)-lastSlash(loc):], "/%d", &pid)
	require.NoError(t, err, loc)
	status, loc, body = wiringCall(t, base, http.MethodPost, "/replication/executions", map[string]any{"policy_id": pid})
	require.Equal(t, http.StatusCreated, status, string(body))
	var exec map[string]any
	deadline := time.Now().Add(30 * time.Second)
	for {
		status, _, body = wiringCall(t, base, http.MethodGet, "/replication/executions/"+loc[len(loc)-lastSlash(loc)+1:], nil)
		require.Equal(t, http.StatusOK, status, string(body))
		require.NoError(t, json.Unmarshal(body, &exec))
		if s := exec["status"]; s != "InProgress" && s != "Pending" {
			break
		}
		if time.Now().After(deadline) {
			_, _, tb := wiringCall(t, base, http.MethodGet, fmt.Sprintf("/replication/executions/%v/tasks", exec["id"]), nil)
			var ts []map[string]any
			_ = json.Unmarshal(tb, &ts)
			for _, task := range ts {
				_, _, lg := wiringCall(t, base, http.MethodGet, fmt.Sprintf("/replication/executions/%v/tasks/%v/log", exec["id"], task["id"]), nil)
				t.Logf("task %v: %s", task["id"], lg)
			}
			t.Fatalf("execution still running: %s", body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	status, _, body = wiringCall(t, base, http.MethodGet, fmt.Sprintf("/replication/executions/%v/tasks", exec["id"]), nil)
	require.Equal(t, http.StatusOK, status, string(body))
	var tasks []map[string]any
	require.NoError(t, json.Unmarshal(body, &tasks))
	return exec, tasks
}

func lastSlash(s string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == '/' {
			return len(s) - i
		}
	}
	return len(s)
}

// Two berth servers: a push policy selecting charts copies a project's
// chart versions (archive and .prov, byte for byte) to the other, whose
// chart repository is the ChartMuseum-compatible peer; the copy exports
// there and imports back here into another project, byte for byte.
func TestChartsReplicateAndRoundTripBetweenServers(t *testing.T) {
	a, b := startChartServer(t), startChartServer(t)
	createProject(t, a, "team")
	createProject(t, b, "team")
	web, prov := chartArchive(t, "web", "1.0.0"), []byte("-----BEGIN PGP SIGNED MESSAGE-----\nunverified\n")
	db := chartArchive(t, "db", "0.1.0")
	uploadChart(t, a, "team", web, prov)
	uploadChart(t, a, "team", db, nil)

	status, loc, body := wiringCall(t, a, http.MethodPost, "/registries", map[string]any{"name": "b", "type": "harbor", "url": b,
		"credential": map[string]any{"type": "basic", "access_key": "admin", "access_secret": wiringAdminPassword}})
	require.Equal(t, http.StatusCreated, status, string(body))
	var regID int64
	_, err := fmt.Sscanf(loc[len(loc)-lastSlash(loc):], "/%d", &regID)
	require.NoError(t, err)
	exec, tasks := runReplication(t, a, map[string]any{"name": "charts", "enabled": true, "dest_registry": map[string]any{"id": regID},
		"trigger": map[string]any{"type": "manual"},
		"filters": []map[string]any{{"type": "resource", "value": "chart"}, {"type": "name", "value": "team/**"}}})
	require.Equal(t, "Succeed", exec["status"], exec["status_text"])
	require.Len(t, tasks, 2)
	for _, task := range tasks {
		assert.Equal(t, "chart", task["resource_type"])
	}
	for file, want := range map[string][]byte{"web-1.0.0.tgz": web, "web-1.0.0.tgz.prov": prov, "db-0.1.0.tgz": db} {
		status, got := chartCall(t, b, http.MethodGet, "/chartrepo/team/charts/"+file, "", nil, wiringAdminPassword)
		require.Equal(t, http.StatusOK, status, file)
		assert.Equal(t, want, got, file)
	}

	// Pulled back from b with no name filter (b's projects are listed)
	// into mirror, which a creates.
	exec, tasks = runReplication(t, a, map[string]any{"name": "pull", "enabled": true, "src_registry": map[string]any{"id": regID},
		"dest_namespace": "mirror", "dest_namespace_replace_count": 1, "trigger": map[string]any{"type": "manual"},
		"filters": []map[string]any{{"type": "resource", "value": "chart"}}})
	require.Equal(t, "Succeed", exec["status"], exec["status_text"])
	assert.Len(t, tasks, 2)
	status, got := chartCall(t, a, http.MethodGet, "/chartrepo/mirror/charts/web-1.0.0.tgz", "", nil, wiringAdminPassword)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, web, got)

	// Export from b, import into a's project copy: byte-identical.
	status, bundle := chartCall(t, b, http.MethodGet, "/api/chartrepo/team/export", "", nil, wiringAdminPassword)
	require.Equal(t, http.StatusOK, status, string(bundle))
	status, _ = chartCall(t, a, http.MethodPost, "/api/chartrepo/copy/import", "application/gzip", bundle, "")
	assert.Equal(t, http.StatusUnauthorized, status, "anonymous callers may not import")
	createProject(t, a, "copy")
	status, body = chartCall(t, a, http.MethodPost, "/api/chartrepo/copy/import", "application/gzip", bundle, wiringAdminPassword)
	require.Equal(t, http.StatusOK, status, string(body))
	assert.JSONEq(t, `{"imported":[{"name":"db","version":"0.1.0"},{"name":"web","version":"1.0.0"}],"skipped":[]}`, string(body))
	for file, want := range map[string][]byte{"web-1.0.0.tgz": web, "web-1.0.0.tgz.prov": prov, "db-0.1.0.tgz": db} {
		status, got := chartCall(t, a, http.MethodGet, "/chartrepo/copy/charts/"+file, "", nil, wiringAdminPassword)
		require.Equal(t, http.StatusOK, status, file)
		assert.Equal(t, want, got, file)
	}

	// The chart API is in the OpenAPI document, from the server's root.
	status, _, body = wiringCall(t, a, http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, status)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Servers     []struct {
				URL string `json:"url"`
			} `json:"servers"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	for path, ops := range map[string]map[string]string{
		"/chartrepo/{repo}/index.yaml":                  {"get": "getChartRepoIndex"},
		"/chartrepo/{repo}/charts/{filename}":           {"get": "downloadChartFile"},
		"/api/chartrepo/{repo}/charts":                  {"get": "listCharts", "post": "uploadChartVersion"},
		"/api/chartrepo/{repo}/charts/{name}":           {"get": "listChartVersions"},
		"/api/chartrepo/{repo}/charts/{name}/{version}": {"get": "getChartVersion", "delete": "deleteChartVersion"},
		"/api/chartrepo/{repo}/export":                  {"get": "exportCharts"},
		"/api/chartrepo/{repo}/import":                  {"post": "importCharts"},
	} {
		for method, id := range ops {
			op := doc.Paths[path][method]
			assert.Equal(t, id, op.OperationID, "%s %s", method, path)
			if assert.Len(t, op.Servers, 1, "%s %s", method, path) {
				assert.Equal(t, "/", op.Servers[0].URL)
			}
		}
	}
}
