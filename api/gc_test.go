package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/gc"
	"github.com/berthlabs/berth/maintenance"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

// freeing is a collector that frees the same garbage every run.
type freeing struct{}

func (freeing) CollectGarbage(_ context.Context, o registry.GCOptions) (registry.GCResult, error) {
	o.Log("garbage collection finished: 1 manifests and 2 blobs")
	return registry.GCResult{ManifestsDeleted: 1, BlobsDeleted: 2, BytesFreed: 300}, nil
}

func (freeing) GarbageQueue(context.Context) (int, int, error) { return 0, 0, nil }

// gcEnv is the API with garbage collection, run by a job runner.
func gcEnv(t *testing.T) *env {
	t.Helper()
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	runner, ws := jobRunner(t)
	svc, err := gc.New(t.Context(), db, freeing{}, runner)
	require.NoError(t, err)
	startTask(t, runner, ws, svc)
	e := newEnv(t, api.WithGC(svc))
	e.user("alice")
	return e
}

// The garbage collection routes are the shared ExecHistory routes, with
// GC's parameters, results and job name.
func TestGCRuns(t *testing.T) {
	e := gcEnv(t)
	e.do(as("alice"), http.MethodGet, "/system/gc", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
	e.do(admin(), http.MethodPost, "/system/gc/schedule", map[string]any{"schedule": map[string]any{"type": "Manual"},
		"parameters": map[string]any{"delete_untagged": true, "dry_run": true, "gc_everything": true}}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")

	r := e.do(admin(), http.MethodPost, "/system/gc/schedule", map[string]any{"schedule": map[string]any{"type": "Manual"},
		"parameters": map[string]any{"delete_untagged": true, "workers": 3}})
	r.ok(t, http.StatusCreated, nil)
	loc := r.Header.Get("Location")
	require.Regexp(t, `^/api/v2\.0/system/gc/\d+$`, loc)
	var h api.ExecHistory
	require.Eventually(t, func() bool {
		e.do(admin(), http.MethodGet, loc[len(api.BasePath):], nil).ok(t, http.StatusOK, &h)
		return h.JobStatus != maintenance.StatusPending && h.JobStatus != maintenance.StatusRunning
	}, 20*time.Second, 20*time.Millisecond)
	assert.Equal(t, "GARBAGE_COLLECTION", h.JobName)
	assert.Equal(t, maintenance.StatusSuccess, h.JobStatus)
	assert.Equal(t, maintenance.Manual, h.JobKind)
	assert.Equal(t, "Manual", h.Schedule.Type)
	assert.JSONEq(t, `{"delete_untagged":true,"dry_run":false,"manifests_deleted":1,"blobs_deleted":2,"bytes_freed":300}`,
		h.JobParameters)

	r = e.do(admin(), http.MethodGet, fmt.Sprint("/system/gc/", h.ID, "/log"), nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "text/plain; charset=utf-8", r.Header.Get("Content-Type"))
	assert.Contains(t, string(r.Body), "garbage collection finished: 1 manifests and 2 blobs")
	var hist []api.ExecHistory
	r = e.do(admin(), http.MethodGet, "/system/gc", nil)
	r.ok(t, http.StatusOK, &hist)
	assert.Equal(t, "1", r.Header.Get("X-Total-Count"))
	assert.Equal(t, []api.ExecHistory{h}, hist)
	// Stopping a run that has ended is done (Harbor: 200), and changes nothing.
	e.do(admin(), http.MethodPut, fmt.Sprint("/system/gc/", h.ID), nil).ok(t, http.StatusOK, nil)
	var after api.ExecHistory
	e.do(admin(), http.MethodGet, fmt.Sprint("/system/gc/", h.ID), nil).ok(t, http.StatusOK, &after)
	assert.Equal(t, maintenance.StatusSuccess, after.JobStatus, "a stop after the end leaves the run's status")
	e.do(admin(), http.MethodPut, "/system/gc/999", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(admin(), http.MethodGet, "/system/gc/999", nil).fails(t, http.StatusNotFound, "NOT_FOUND")

	e.do(admin(), http.MethodPut, "/system/gc/schedule", map[string]any{"schedule": map[string]any{"type": "Manual"}}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	e.do(admin(), http.MethodPut, "/system/gc/schedule", map[string]any{"schedule": map[string]any{"type": "Weekly"},
		"parameters": map[string]any{"dry_run": true}}).ok(t, http.StatusOK, nil)
	var sc api.ExecHistory
	e.do(admin(), http.MethodGet, "/system/gc/schedule", nil).ok(t, http.StatusOK, &sc)
	assert.Equal(t, "Weekly", sc.Schedule.Type)
	assert.Equal(t, maintenance.Scheduled, sc.JobKind)
	require.NotNil(t, sc.Schedule.NextScheduledTime)
	var params map[string]any
	require.NoError(t, json.Unmarshal([]byte(sc.JobParameters), &params))
	assert.Equal(t, map[string]any{"delete_untagged": false, "dry_run": true}, params)
}
