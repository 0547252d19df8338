package server_test

import (
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

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// A push policy's label filter selects by the labels the local artifacts
// carry: only the artifact labelled "prod" is replicated.
func TestReplicationLabelFilterWired(t *testing.T) {
	ctx := t.Context()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	hs := httptest.NewUnstartedServer(nil)
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", wiringAdminPassword, "http://"+hs.Listener.Addr().String()
	cfg.SecretKeyFile = t.TempDir() + "/secret.key"
	cfg.Scan.Enabled, cfg.Charts.Enabled, cfg.Replication.Enabled = false, false, true
	srv, err := server.New(ctx, cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(func() {
		hs.Close()
		_ = srv.Close(t.Context())
	})
	base := hs.URL

	// The destination: a bare registry.
	ddb, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = ddb.Close() })
	dreg, err := registry.New(ctx, memory.New(), ddb)
	require.NoError(t, err)
	dst := httptest.NewServer(dreg)
	t.Cleanup(dst.Close)

	st, _, body := wiringCall(t, base, http.MethodPost, "/projects", map[string]any{"project_name": "shop"})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	st, loc, body := wiringCall(t, base, http.MethodPost, "/labels", map[string]any{"name": "prod", "scope": "g"})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	labelID := wiringLastID(t, loc)
	host := strings.TrimPrefix(base, "http://")
	for _, tag := range []string{"v1", "v2"} {
		img, err := random.Image(256, 1)
		require.NoError(t, err)
		ref, err := name.NewTag(host+"/shop/app:"+tag, name.Insecure)
		require.NoError(t, err)
		require.NoError(t, remote.Write(ref, img, remote.WithAuth(&authn.Basic{Username: "admin", Password: wiringAdminPassword})))
	}
	st, _, body = wiringCall(t, base, http.MethodPost, "/projects/shop/repositories/app/artifacts/v1/labels",
		map[string]any{"id": json.Number(labelID)})
	require.Equal(t, http.StatusOK, st, "%s", body)

	st, loc, body = wiringCall(t, base, http.MethodPost, "/registries", map[string]any{"name": "dst", "url": dst.URL})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	regID := json.Number(wiringLastID(t, loc))
	st, loc, body = wiringCall(t, base, http.MethodPost, "/replication/policies", map[string]any{
		"name": "prod-only", "dest_registry": map[string]any{"id": regID}, "enabled": true,
		"trigger": map[string]any{"type": "manual"},
		"filters": []map[string]any{{"type": "name", "value": "shop/**"}, {"type": "label", "value": "prod"}}})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	st, loc, body = wiringCall(t, base, http.MethodPost, "/replication/executions",
		map[string]any{"policy_id": json.Number(wiringLastID(t, loc))})
	require.Equal(t, http.StatusCreated, st, "%s", body)
	exec := "/replication/executions/" + wiringLastID(t, loc)
	var ex struct {
		Status     string `json:"status"`
		StatusText string `json:"status_text"`
		Total      int    `json:"total"`
	}
	require.Eventually(t, func() bool {
		_, _, body := wiringCall(t, base, http.MethodGet, exec, nil)
		require.NoError(t, json.Unmarshal(body, &ex))
		return ex.Status != "InProgress" && ex.Status != "Pending"
	}, 30*time.Second, 20*time.Millisecond)
	require.Equal(t, "Succeed", ex.Status, ex.StatusText)
	assert.Equal(t, 1, ex.Total)
	_, err = dreg.GetArtifact(ctx, "shop/app", "v1")
	assert.NoError(t, err, "labelled prod: replicated")
	_, err = dreg.GetArtifact(ctx, "shop/app", "v2")
	assert.ErrorIs(t, err, registry.ErrNotFound, "not labelled: not replicated")
}
