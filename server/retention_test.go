package server_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/server"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// TestRetentionAndImmutabilityWired runs the assembled server: an
// immutable tag refuses to move, a retention execution deletes what its
// policy does not retain but keeps the immutable tag, and the project's
// webhook hears TAG_RETENTION.
func TestRetentionAndImmutabilityWired(t *testing.T) {
	ctx := t.Context()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	hs := httptest.NewUnstartedServer(nil)
	host := hs.Listener.Addr().String()
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", "admin-password-1", "http://"+host
	cfg.Scan.Enabled, cfg.Trust.Enabled, cfg.Replication.Enabled, cfg.Charts.Enabled = false, false, false, false
	srv, err := server.New(ctx, cfg, server.WithStorage(memory.New()), server.WithDatabase(db),
		server.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	t.Cleanup(func() { _ = srv.Close(context.Background()) })
	hs.Config.Handler = srv.Handler()
	hs.Start()
	t.Cleanup(hs.Close)

	var mu sync.Mutex
	var events []map[string]any
	receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var ev map[string]any
		_ = json.NewDecoder(r.Body).Decode(&ev)
		mu.Lock()
		events = append(events, ev)
		mu.Unlock()
	}))
	t.Cleanup(receiver.Close)

	call := func(method, path string, body any) *http.Response {
		t.Helper()
		var rd io.Reader
		if body != nil {
			b, err := json.Marshal(body)
			require.NoError(t, err)
			rd = bytes.NewReader(b)
		}
		req, err := http.NewRequestWithContext(ctx, method, hs.URL+"/api/v2.0"+path, rd)
		require.NoError(t, err)
		req.SetBasicAuth("admin", "admin-password-1")
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		t.Cleanup(func() { resp.Body.Close() })
		return resp
	}
	decode := func(resp *http.Response, v any) {
		t.Helper()
		require.Less(t, resp.StatusCode, 300)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(v))
	}

	if call(http.MethodGet, "/retentions/metadatas", nil).StatusCode == http.StatusNotFound {
		t.Skip("retention and immutability are not among the built-in features (builtinFeatures)")
	}
	require.Equal(t, http.StatusCreated, call(http.MethodPost, "/projects", map[string]any{"project_name": "team"}).StatusCode)
	var proj struct {
		ID int64 `json:"project_id"`
	}
	decode(call(http.MethodGet, "/projects/team", nil), &proj)
	sel := func(dec, pattern string) []map[string]string {
		return []map[string]string{{"kind": "doublestar", "decoration": dec, "pattern": pattern}}
	}
	require.Equal(t, http.StatusCreated, call(http.MethodPost, "/projects/team/immutabletagrules", map[string]any{
		"tag_selectors": sel("matches", "v*"), "scope_selectors": map[string]any{"repository": sel("repoMatches", "**")}}).StatusCode)
	require.Equal(t, http.StatusCreated, call(http.MethodPost, "/projects/team/webhook/policies", map[string]any{
		"name": "hook", "enabled": true, "event_types": []string{"TAG_RETENTION"},
		"targets": []map[string]any{{"type": "http", "address": receiver.URL}}}).StatusCode)

	admin := remote.WithAuth(&authn.Basic{Username: "admin", Password: "admin-password-1"})
	push := func(tag string) error {
		img, err := random.Image(128, 1)
		require.NoError(t, err)
		ref, err := name.NewTag(host+"/team/app:"+tag, name.Insecure)
		require.NoError(t, err)
		return remote.Write(ref, img, admin)
	}
	require.NoError(t, push("v1"))
	err = push("v1")
	var te *transport.Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, http.StatusPreconditionFailed, te.StatusCode)
	assert.Equal(t, "the tag v1 configured as immutable, cannot be updated", te.Errors[0].Message)
	require.NoError(t, push("tmp-1"))
	time.Sleep(5 * time.Millisecond)
	require.NoError(t, push("tmp-2"))

	// Keep the latest tmp-*; v1 is immutable, so it stays too.
	policy := map[string]any{"algorithm": "or", "rules": []map[string]any{{
		"action": "retain", "template": "latestPushedK", "params": map[string]any{"latestPushedK": 1},
		"tag_selectors": sel("matches", "tmp-*"), "scope_selectors": map[string]any{"repository": sel("repoMatches", "**")},
	}}, "trigger": map[string]any{"kind": "Schedule", "settings": map[string]any{"cron": ""}},
		"scope": map[string]any{"level": "project", "ref": proj.ID}}
	resp := call(http.MethodPost, "/retentions", policy)
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	path := fmt.Sprintf("/retentions/%d", proj.ID)
	assert.Equal(t, "/api/v2.0"+path, resp.Header.Get("Location"))
	require.Equal(t, http.StatusCreated, call(http.MethodPost, path+"/executions", map[string]bool{"dry_run": false}).StatusCode)
	var execs []struct {
		ID     int64  `json:"id"`
		Status string `json:"status"`
	}
	require.Eventually(t, func() bool {
		decode(call(http.MethodGet, path+"/executions", nil), &execs)
		return len(execs) == 1 && execs[0].Status != "Pending" && execs[0].Status != "Running"
	}, 20*time.Second, 50*time.Millisecond)
	assert.Equal(t, "Success", execs[0].Status)

	var arts []struct {
		Tags []struct {
			Name string `json:"name"`
		} `json:"tags"`
	}
	decode(call(http.MethodGet, "/projects/team/repositories/app/artifacts", nil), &arts)
	var names []string
	for _, a := range arts {
		for _, tg := range a.Tags {
			names = append(names, tg.Name)
		}
	}
	assert.ElementsMatch(t, []string{"v1", "tmp-2"}, names)

	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(events) > 0
	}, 30*time.Second, 100*time.Millisecond, "the webhook hears of the execution")
	mu.Lock()
	ev := events[0]
	mu.Unlock()
	assert.Equal(t, "TAG_RETENTION", ev["type"])
	ret := ev["event_data"].(map[string]any)["retention"].(map[string]any)
	assert.Equal(t, "team", ret["project_name"])
	assert.Equal(t, "SUCCESS", ret["result"])
	assert.EqualValues(t, 3, ret["total"])
	assert.EqualValues(t, 2, ret["retained"])
	deleted := ret["deleted_artifact"].([]any)
	require.Len(t, deleted, 1)
	assert.True(t, strings.HasSuffix(deleted[0].(map[string]any)["name_tag"].(string), "app:tmp-1"))
}
