package server

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

const sysTestPassword = "admin-password-1"

// sysCall sends an API request as the admin and decodes the answer.
func sysCall(t *testing.T, s *Server, method, path string, body any, want int, out any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, "/api/v2.0"+path, rd)
	req.SetBasicAuth("admin", sysTestPassword)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, req)
	require.Equal(t, want, w.Code, "%s %s: %s", method, path, w.Body)
	if out != nil {
		require.NoError(t, json.Unmarshal(w.Body.Bytes(), out))
	}
}

func startSys(t *testing.T, dir string) *Server {
	t.Helper()
	cfg := DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = dir, sysTestPassword, "http://127.0.0.1:1"
	cfg.Scan.Enabled, cfg.Trust.Enabled = false, false
	s, err := New(t.Context(), cfg, WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	return s
}

// Settings changed through PUT /configurations are stored: a restarted
// server (or another node on the same database) applies them.
func TestConfigurationsSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	s := startSys(t, dir)
	sysCall(t, s, http.MethodPut, "/configurations", map[string]any{"project_creation_restriction": "adminonly",
		"robot_token_duration": 3}, http.StatusOK, nil)
	require.NoError(t, s.Close(context.Background()))

	s = startSys(t, dir)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	var got map[string]map[string]any
	sysCall(t, s, http.MethodGet, "/configurations", nil, http.StatusOK, &got)
	assert.Equal(t, map[string]any{"value": "adminonly", "editable": true}, got["project_creation_restriction"])
	assert.Equal(t, map[string]any{"value": float64(3), "editable": true}, got["robot_token_duration"])
	var info map[string]any
	sysCall(t, s, http.MethodGet, "/systeminfo", nil, http.StatusOK, &info)
	assert.Equal(t, "adminonly", info["project_creation_restriction"])

	var health struct {
		Status     string
		Components []struct{ Name, Status string }
	}
	sysCall(t, s, http.MethodGet, "/health", nil, http.StatusOK, &health)
	assert.Equal(t, "healthy", health.Status)
	var names []string
	for _, c := range health.Components {
		names = append(names, c.Name)
	}
	assert.Equal(t, []string{"core", "database", "storage", "jobservice"}, names)

	var vols struct {
		Storage []struct{ Total, Free uint64 }
	}
	sysCall(t, s, http.MethodGet, "/systeminfo/volumes", nil, http.StatusOK, &vols)
	require.Len(t, vols.Storage, 1)
	assert.Positive(t, vols.Storage[0].Total)
	assert.LessOrEqual(t, vols.Storage[0].Free, vols.Storage[0].Total)
	sysCall(t, s, http.MethodGet, "/systeminfo/getcert", nil, http.StatusNotFound, nil)

	var pools []map[string]any
	sysCall(t, s, http.MethodGet, "/jobservice/pools", nil, http.StatusOK, &pools)
	require.NotEmpty(t, pools)
	assert.NotEmpty(t, pools[0]["worker_pool_id"])
	var queues []map[string]any
	sysCall(t, s, http.MethodGet, "/jobservice/queues", nil, http.StatusOK, &queues)
	sysCall(t, s, http.MethodPut, "/jobservice/jobs/999999", nil, http.StatusNotFound, nil)
	sysCall(t, s, http.MethodGet, "/jobservice/jobs/999999/log", nil, http.StatusNotFound, nil)
}

// /health reports the blob store down by name, still answering 200.
func TestHealthReportsAComponentDown(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	store := &flakyStore{Driver: memory.New()}
	cfg := DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", sysTestPassword, "http://127.0.0.1:1"
	cfg.Scan.Enabled, cfg.Trust.Enabled, cfg.Charts.Enabled = false, false, false
	s, err := New(t.Context(), cfg, WithLogger(slog.New(slog.DiscardHandler)), WithStorage(store), WithDatabase(db))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	store.down = true
	var health struct {
		Status     string
		Components []map[string]string
	}
	sysCall(t, s, http.MethodGet, "/health", nil, http.StatusOK, &health)
	assert.Equal(t, "unhealthy", health.Status)
	assert.Contains(t, health.Components, map[string]string{"name": "storage", "status": "unhealthy", "error": "blob storage unavailable"})
	assert.Contains(t, health.Components, map[string]string{"name": "database", "status": "healthy"})
	var vols struct{ Storage []any }
	sysCall(t, s, http.MethodGet, "/systeminfo/volumes", nil, http.StatusOK, &vols)
	assert.Empty(t, vols.Storage, "no data directory: nothing to measure")
}

// With tls.self_signed, /systeminfo/getcert hands out the CA clients
// trust the server's certificate through (anonymously, as Harbor does).
func TestGetCertServesTheSelfSignedCA(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = dir, sysTestPassword, "https://127.0.0.1:1"
	cfg.Scan.Enabled, cfg.Trust.Enabled = false, false
	cfg.TLS.SelfSigned = true
	s, err := New(t.Context(), cfg, WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	w := httptest.NewRecorder()
	s.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/api/v2.0/systeminfo/getcert", nil))
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	want, err := os.ReadFile(filepath.Join(dir, "tls", "ca.crt"))
	require.NoError(t, err)
	assert.Equal(t, string(want), w.Body.String())
	block, _ := pem.Decode(w.Body.Bytes())
	require.NotNil(t, block)
	ca, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err)
	assert.True(t, ca.IsCA)
}
