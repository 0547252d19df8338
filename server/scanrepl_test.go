package server_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// Scan data exports, the security hub, scanner candidates and registry
// information are served with scanning and replication.
func TestScanReplWired(t *testing.T) {
	ctx := t.Context()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	hs := httptest.NewUnstartedServer(nil)
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", wiringAdminPassword, "http://"+hs.Listener.Addr().String()
	cfg.Scan.Enabled, cfg.Replication.Enabled, cfg.Charts.Enabled = true, true, false
	srv, err := server.New(ctx, cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close(t.Context())
	})

	status, _, body := wiringCall(t, hs.URL, http.MethodGet, "/export/cve/executions", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)
	assert.JSONEq(t, `{"items":[]}`, string(body))
	status, _, body = wiringCall(t, hs.URL, http.MethodGet, "/security/summary", nil)
	require.Equal(t, http.StatusOK, status, "%s", body)

	status, _, body = wiringCall(t, hs.URL, http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, status)
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	for _, p := range []string{"/export/cve", "/export/cve/executions", "/export/cve/execution/{execution_id}",
		"/export/cve/download/{execution_id}", "/security/summary", "/security/vul", "/scans/schedule/metrics",
		"/projects/{project_name_or_id}/scanner/candidates", "/registries/{id}/info", "/replication/adapterinfos"} {
		assert.Contains(t, doc.Paths, p)
	}
}
