package server_test

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

const wiringAdminPassword = "admin-password-1"

// startWiringServer runs the default server (auth on) over memory storage and
// an in-memory database, and returns its base URL.
func startWiringServer(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	hs := httptest.NewUnstartedServer(nil)
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", wiringAdminPassword, "http://"+hs.Listener.Addr().String()
	cfg.Scan.Enabled, cfg.Replication.Enabled, cfg.Charts.Enabled = false, false, false
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

// wiringCall sends a request to the API as the admin and returns the status,
// the Location and the body.
func wiringCall(t *testing.T, base, method, path string, body any) (int, string, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, base+"/api/v2.0"+path, rd)
	require.NoError(t, err)
	req.SetBasicAuth("admin", wiringAdminPassword)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header.Get("Location"), b
}

func wiringLastID(t *testing.T, loc string) string {
	t.Helper()
	require.NotEmpty(t, loc)
	return loc[strings.LastIndex(loc, "/")+1:]
}

// Labels are wired: the API, the sink forgetting a deleted artifact's
// labels, and the project-deletion cascade.
func TestLabelsWired(t *testing.T) {
	base := startWiringServer(t)
	st, _, body := wiringCall(t, base, http.MethodPost, "/projects", map[string]any{"project_name": "shop"})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	st, _, body = wiringCall(t, base, http.MethodGet, "/projects/shop", nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	var p struct {
		ProjectID int64 `json:"project_id"`
	}
	require.NoError(t, json.Unmarshal(body, &p))

	st, loc, body := wiringCall(t, base, http.MethodPost, "/labels", map[string]any{"name": "prod", "scope": "p", "project_id": p.ProjectID})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	id := wiringLastID(t, loc)

	img, err := random.Image(256, 1)
	require.NoError(t, err)
	ref, err := name.NewTag(strings.TrimPrefix(base, "http://")+"/shop/app:v1", name.Insecure)
	require.NoError(t, err)
	push := func() {
		require.NoError(t, remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: wiringAdminPassword})))
	}
	push()
	labels := "/projects/shop/repositories/app/artifacts/v1/labels"
	st, _, body = wiringCall(t, base, http.MethodPost, labels, map[string]any{"id": json.Number(id)})
	require.Equal(t, http.StatusOK, st, "%s", body)
	st, _, _ = wiringCall(t, base, http.MethodPost, labels, map[string]any{"id": json.Number(id)})
	require.Equal(t, http.StatusConflict, st, "already on it")

	// Deleted and pushed again, the artifact starts without labels.
	st, _, body = wiringCall(t, base, http.MethodDelete, "/projects/shop/repositories/app/artifacts/v1", nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	push()
	st, _, body = wiringCall(t, base, http.MethodPost, labels, map[string]any{"id": json.Number(id)})
	require.Equal(t, http.StatusOK, st, "the deleted artifact's label went with it: %s", body)

	// The project's labels go with the project.
	st, _, body = wiringCall(t, base, http.MethodDelete, "/projects/shop/repositories/app", nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	st, _, body = wiringCall(t, base, http.MethodDelete, "/projects/shop", nil)
	require.Equal(t, http.StatusOK, st, "%s", body)
	st, _, _ = wiringCall(t, base, http.MethodGet, "/labels/"+id, nil)
	assert.Equal(t, http.StatusNotFound, st)
}

// The audit log purge is wired: a manual run purges as a durable job.
func TestAuditPurgeWired(t *testing.T) {
	base := startWiringServer(t)
	st, loc, body := wiringCall(t, base, http.MethodPost, "/system/purgeaudit/schedule", map[string]any{
		"schedule": map[string]any{"type": "Manual"}, "parameters": map[string]any{"audit_retention_hour": 1, "dry_run": true}})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	path := "/system/purgeaudit/" + wiringLastID(t, loc)
	require.Eventually(t, func() bool {
		st, _, body = wiringCall(t, base, http.MethodGet, path, nil)
		require.Equal(t, http.StatusOK, st, "%s", body)
		return strings.Contains(string(body), `"job_status":"Success"`)
	}, 20*time.Second, 20*time.Millisecond, "%s", body)
	st, _, body = wiringCall(t, base, http.MethodGet, path+"/log", nil)
	require.Equal(t, http.StatusOK, st)
	assert.Contains(t, string(body), "dry run: 0 entries would be purged")
}
