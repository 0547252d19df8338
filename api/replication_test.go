package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/replicate"
	"github.com/berthlabs/berth/sqldb"
)

// lateReplicator forwards to a service made after the env (which owns the
// registry the service replicates from).
type lateReplicator struct{ api.Replicator }

// replEnv is the API with replication over a real service whose local
// registry is the env's; the env's own /v2/ serves as the remote too.
func replEnv(t *testing.T) *env {
	t.Helper()
	late := &lateReplicator{}
	e := newEnv(t, api.WithReplication(late))
	ctx := context.Background()
	dir := t.TempDir()
	db, err := sqldb.OpenSQLite(ctx, filepath.Join(dir, "repl.db"))
	require.NoError(t, err)
	pool, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "jobs.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	pool.SetMaxOpenConns(1)
	require.NoError(t, jobs.Migrate(ctx, pool))
	ws := jobs.NewWorkers()
	runner, err := jobs.New(pool, jobs.WithWorkers(ws), jobs.WithPollInterval(50*time.Millisecond))
	require.NoError(t, err)
	key := make([]byte, 32)
	svc, err := replicate.NewService(ctx, db, e.reg.Transport("replication"), runner, replicate.WithSecretKey(key))
	require.NoError(t, err)
	require.NoError(t, svc.Register(ws))
	require.NoError(t, svc.Start(ctx))
	require.NoError(t, runner.Start(ctx))
	late.Replicator = svc
	t.Cleanup(func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = runner.Stop(sctx)
		svc.Close()
		_ = pool.Close()
		_ = db.Close()
	})
	return e
}

func TestReplicationAPI(t *testing.T) {
	e := replEnv(t)
	e.user("dev")

	// System admins only.
	e.do(anonymous, http.MethodGet, "/registries", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	e.do(as("dev"), http.MethodGet, "/registries", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(as("dev"), http.MethodPost, "/replication/executions", api.StartReplicationExecution{PolicyID: 1}).
		fails(t, http.StatusForbidden, "FORBIDDEN")

	// Registries: the secret is write-only.
	reg := api.Registry{Name: "self", URL: e.srv.URL, Credential: &api.RegistryCredential{Type: "basic", AccessKey: "bob", AccessSecret: "s3cret"}}
	r := e.do(admin(), http.MethodPost, "/registries", reg)
	r.ok(t, http.StatusCreated, nil)
	loc := r.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, api.BasePath+"/registries/"), loc)
	e.do(admin(), http.MethodPost, "/registries", reg).fails(t, http.StatusConflict, "CONFLICT")
	e.do(admin(), http.MethodPost, "/registries", api.Registry{Name: "bad", URL: "ftp://x"}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	var regs []api.Registry
	e.do(admin(), http.MethodGet, "/registries?health=true", nil).ok(t, http.StatusOK, &regs)
	require.Len(t, regs, 1)
	assert.Equal(t, "bob", regs[0].Credential.AccessKey)
	assert.Empty(t, regs[0].Credential.AccessSecret)
	assert.Equal(t, "healthy", regs[0].Status)
	regID := regs[0].ID
	id := strings.TrimPrefix(loc, api.BasePath+"/registries/")
	e.do(admin(), http.MethodPost, "/registries/ping", api.RegistryPing{ID: regID}).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodPost, "/registries/ping", api.RegistryPing{URL: "http://127.0.0.1:1"}).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPut, "/registries/"+id, map[string]any{"description": "me"}).ok(t, http.StatusOK, nil)
	var got api.Registry
	e.do(admin(), http.MethodGet, "/registries/"+id, nil).ok(t, http.StatusOK, &got)
	assert.Equal(t, "me", got.Description)
	assert.Equal(t, "bob", got.Credential.AccessKey, "an update without a credential keeps it")
	e.do(admin(), http.MethodGet, "/registries/999", nil).fails(t, http.StatusNotFound, "NOT_FOUND")

	// A push policy into a namespace of the same registry.
	e.push("library/app", "v1")
	e.push("library/app", "dev")
	e.push("other/x", "v1")
	pol := api.ReplicationPolicy{Name: "mirror", DestRegistry: &api.RegistryRef{ID: regID}, DestNamespace: "mirror",
		Trigger: &api.ReplicationTrigger{Type: "manual"}, Enabled: true,
		Filters: []api.ReplicationFilter{{Type: "name", Value: "library/**"}, {Type: "tag", Value: "v*"}}}
	e.do(admin(), http.MethodPost, "/replication/policies", pol).ok(t, http.StatusCreated, nil)
	bad := pol
	bad.Name, bad.Trigger = "bad", &api.ReplicationTrigger{Type: "scheduled", TriggerSettings: &api.ReplicationTriggerSetting{Cron: "nope"}}
	e.do(admin(), http.MethodPost, "/replication/policies", bad).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	var pols []api.ReplicationPolicy
	e.do(admin(), http.MethodGet, "/replication/policies?name=mir", nil).ok(t, http.StatusOK, &pols)
	require.Len(t, pols, 1)
	assert.Nil(t, pols[0].SrcRegistry)
	assert.Equal(t, "self", pols[0].DestRegistry.Name)
	assert.Len(t, pols[0].Filters, 2)
	e.do(admin(), http.MethodDelete, "/registries/"+id, nil).fails(t, http.StatusPreconditionFailed, "PRECONDITION")

	// Run it and read its tasks and logs.
	r = e.do(admin(), http.MethodPost, "/replication/executions", api.StartReplicationExecution{PolicyID: pols[0].ID})
	r.ok(t, http.StatusCreated, nil)
	execPath := strings.TrimPrefix(r.Header.Get("Location"), api.BasePath)
	var ex api.ReplicationExecution
	deadline := time.Now().Add(30 * time.Second)
	for {
		e.do(admin(), http.MethodGet, execPath, nil).ok(t, http.StatusOK, &ex)
		if ex.Status != "InProgress" || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	require.Equal(t, "Succeed", ex.Status, ex.StatusText)
	assert.Equal(t, 1, ex.Total)
	assert.Positive(t, ex.Bytes)
	assert.NotNil(t, ex.EndTime)
	var tasks []api.ReplicationTask
	e.do(admin(), http.MethodGet, execPath+"/tasks", nil).ok(t, http.StatusOK, &tasks)
	require.Len(t, tasks, 1)
	assert.Equal(t, "Succeed", tasks[0].Status)
	assert.Contains(t, tasks[0].DstResource, "mirror/library/app:v1@sha256:")
	r = e.do(admin(), http.MethodGet, execPath+"/tasks/"+itoa(tasks[0].ID)+"/log", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "text/plain; charset=utf-8", r.Header.Get("Content-Type"))
	assert.Contains(t, string(r.Body), "done:")
	var execs []api.ReplicationExecution
	e.do(admin(), http.MethodGet, "/replication/executions?policy_id="+itoa(pols[0].ID), nil).ok(t, http.StatusOK, &execs)
	assert.Len(t, execs, 1)
	e.do(admin(), http.MethodPut, execPath, nil).ok(t, http.StatusOK, nil) // stopping a finished one changes nothing
	e.do(admin(), http.MethodGet, execPath+"/tasks/999/log", nil).fails(t, http.StatusNotFound, "NOT_FOUND")

	// Update keeps what is not sent; delete.
	polPath := "/replication/policies/" + itoa(pols[0].ID)
	e.do(admin(), http.MethodPut, polPath, map[string]any{"enabled": false}).ok(t, http.StatusOK, nil)
	var p api.ReplicationPolicy
	e.do(admin(), http.MethodGet, polPath, nil).ok(t, http.StatusOK, &p)
	assert.False(t, p.Enabled)
	assert.Equal(t, regID, p.DestRegistry.ID)
	e.do(admin(), http.MethodDelete, polPath, nil).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodDelete, "/registries/"+id, nil).ok(t, http.StatusOK, nil)
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestReplicationOpenAPI checks that the replication routes are documented
// (and the document validates where openapi-spec-validator is installed).
func TestReplicationOpenAPI(t *testing.T) {
	e := replEnv(t)
	r := e.do(anonymous, http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var doc struct {
		Paths      map[string]map[string]any
		Components struct{ Schemas map[string]any }
	}
	require.NoError(t, json.Unmarshal(r.Body, &doc))
	for _, p := range []string{"/registries", "/registries/{id}", "/registries/ping", "/replication/policies",
		"/replication/policies/{id}", "/replication/executions", "/replication/executions/{id}",
		"/replication/executions/{id}/tasks", "/replication/executions/{id}/tasks/{task_id}/log"} {
		assert.Contains(t, doc.Paths, p)
	}
	for _, s := range []string{"Registry", "ReplicationPolicy", "ReplicationExecution", "ReplicationTask", "RegistryCredential"} {
		assert.Contains(t, doc.Components.Schemas, s)
	}
	validateOpenAPI(t, r.Body)
}
