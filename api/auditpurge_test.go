package api_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/maintenance"
	"github.com/berthlabs/berth/sqldb"
)

// lazyPurge hands the API a purge service made after the API (it purges
// the env's audit store, which newEnv makes); its methods are the
// embedded service's.
type lazyPurge struct{ *audit.PurgeService }

// purgeEnv is the API with the audit log purge, run by a job runner.
func purgeEnv(t *testing.T) *env {
	t.Helper()
	lazy := &lazyPurge{}
	e := newEnv(t, api.WithAuditPurge(lazy))
	runner, ws := jobRunner(t)
	var err error
	lazy.PurgeService, err = audit.NewPurgeService(t.Context(), e.audit, runner, audit.WithPurgeClock(e.clock.now))
	require.NoError(t, err)
	startTask(t, runner, ws, lazy)
	e.user("alice")
	return e
}

// jobRunner is a job runner, not yet started, on a database of its own.
func jobRunner(t *testing.T) (*jobs.Runner, *jobs.Workers) {
	t.Helper()
	pool, err := sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "jobs.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	require.NoError(t, err)
	pool.SetMaxOpenConns(1)
	t.Cleanup(func() { _ = pool.Close() })
	require.NoError(t, jobs.Migrate(t.Context(), pool))
	ws := jobs.NewWorkers()
	runner, err := jobs.New(pool, jobs.WithWorkers(ws), jobs.WithPollInterval(20*time.Millisecond),
		jobs.WithStopGrace(2*time.Second), jobs.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	return runner, ws
}

// startTask registers a maintenance task's worker and starts the runner
// and the task's schedule, until the test ends.
func startTask(t *testing.T, runner *jobs.Runner, ws *jobs.Workers, task interface {
	Register(*jobs.Workers) error
	Start(context.Context) error
	Close()
}) {
	t.Helper()
	require.NoError(t, task.Register(ws))
	require.NoError(t, runner.Start(t.Context()))
	require.NoError(t, task.Start(t.Context()))
	t.Cleanup(func() {
		task.Close()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = runner.Stop(sctx)
	})
}

func TestAuditPurgeAccess(t *testing.T) {
	e := purgeEnv(t)
	body := map[string]any{"schedule": map[string]any{"type": "Manual"}, "parameters": map[string]any{"audit_retention_hour": 1}}
	for _, req := range []struct{ method, path string }{
		{http.MethodGet, "/system/purgeaudit"}, {http.MethodGet, "/system/purgeaudit/1"},
		{http.MethodPut, "/system/purgeaudit/1"}, {http.MethodGet, "/system/purgeaudit/1/log"},
		{http.MethodGet, "/system/purgeaudit/schedule"}, {http.MethodPost, "/system/purgeaudit/schedule"},
		{http.MethodPut, "/system/purgeaudit/schedule"},
	} {
		e.do(anonymous, req.method, req.path, body).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
		e.do(as("alice"), req.method, req.path, body).fails(t, http.StatusForbidden, "FORBIDDEN")
	}
	_, total, err := e.audit.Query(t.Context(), audit.Filter{Actor: "alice", Action: audit.ActionPull}, audit.Page{})
	require.NoError(t, err)
	assert.Zero(t, total)
}

func TestAuditPurgeRunNow(t *testing.T) {
	e := purgeEnv(t)
	now := e.clock.now()
	for i, op := range []string{audit.ActionPull, audit.ActionPush, audit.ActionPull, audit.ActionLoginFailure} {
		require.NoError(t, e.audit.Record(t.Context(), audit.Entry{Time: now.Add(-time.Duration(10-i) * time.Hour),
			Actor: "alice", Action: op, Resource: "r"}))
	}
	require.NoError(t, e.audit.Record(t.Context(), audit.Entry{Time: now, Actor: "alice", Action: audit.ActionPull, Resource: "r"}))
	left := func() int {
		_, n, err := e.audit.Query(t.Context(), audit.Filter{Actor: "alice"}, audit.Page{})
		require.NoError(t, err)
		return n
	}
	run := func(params map[string]any) api.ExecHistory {
		t.Helper()
		r := e.do(admin(), http.MethodPost, "/system/purgeaudit/schedule",
			map[string]any{"schedule": map[string]any{"type": "Manual"}, "parameters": params})
		r.ok(t, http.StatusCreated, nil)
		loc := r.Header.Get("Location")
		require.Regexp(t, `^/api/v2\.0/system/purgeaudit/\d+$`, loc)
		var h api.ExecHistory
		require.Eventually(t, func() bool {
			e.do(admin(), http.MethodGet, loc[len(api.BasePath):], nil).ok(t, http.StatusOK, &h)
			return h.JobStatus != maintenance.StatusPending && h.JobStatus != maintenance.StatusRunning
		}, 20*time.Second, 20*time.Millisecond)
		return h
	}

	dry := run(map[string]any{"audit_retention_hour": 1, "include_operations": "create,delete,pull", "dry_run": true})
	assert.Equal(t, maintenance.StatusSuccess, dry.JobStatus)
	assert.Equal(t, "PURGE_AUDIT_LOG", dry.JobName)
	assert.Equal(t, maintenance.Manual, dry.JobKind)
	assert.Equal(t, "Manual", dry.Schedule.Type)
	var params map[string]any
	require.NoError(t, json.Unmarshal([]byte(dry.JobParameters), &params))
	assert.Equal(t, map[string]any{"audit_retention_hour": 1.0, "include_operations": "create,delete,pull",
		"dry_run": true, "purged": 3.0}, params)
	assert.Equal(t, 5, left(), "a dry run purges nothing")

	done := run(map[string]any{"audit_retention_hour": "2", "include_event_types": []any{"pull"}})
	assert.Equal(t, maintenance.StatusSuccess, done.JobStatus)
	require.NoError(t, json.Unmarshal([]byte(done.JobParameters), &params))
	assert.Equal(t, 2.0, params["purged"])
	assert.Equal(t, 3, left())

	r := e.do(admin(), http.MethodGet, fmt.Sprint("/system/purgeaudit/", done.ID, "/log"), nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "text/plain; charset=utf-8", r.Header.Get("Content-Type"))
	assert.Contains(t, string(r.Body), "purged 2 entries")

	r = e.do(admin(), http.MethodGet, "/system/purgeaudit?page_size=1", nil)
	var hist []api.ExecHistory
	r.ok(t, http.StatusOK, &hist)
	assert.Equal(t, "2", r.Header.Get("X-Total-Count"))
	require.Len(t, hist, 1)
	assert.Equal(t, done.ID, hist[0].ID, "newest first")

	// Stopping a run that has ended is done (Harbor: 200), and changes nothing.
	e.do(admin(), http.MethodPut, fmt.Sprint("/system/purgeaudit/", done.ID), nil).ok(t, http.StatusOK, nil)
	e.do(admin(), http.MethodPut, "/system/purgeaudit/999", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(admin(), http.MethodGet, "/system/purgeaudit/999", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
	e.do(admin(), http.MethodGet, "/system/purgeaudit/999/log", nil).fails(t, http.StatusNotFound, "NOT_FOUND")
}

func TestAuditPurgeScheduleShapes(t *testing.T) {
	e := purgeEnv(t)
	tests := []struct {
		name   string
		method string
		body   any
		status int
	}{
		{"Manual needs a retention", http.MethodPost, map[string]any{"schedule": map[string]any{"type": "Manual"}}, 400},
		{"Manual needs POST", http.MethodPut, map[string]any{"schedule": map[string]any{"type": "Manual"},
			"parameters": map[string]any{"audit_retention_hour": 1}}, 400},
		{"no schedule", http.MethodPut, map[string]any{"parameters": map[string]any{"audit_retention_hour": 1}}, 400},
		{"unknown parameter", http.MethodPut, map[string]any{"schedule": map[string]any{"type": "Daily"},
			"parameters": map[string]any{"audit_retention_hour": 1, "delete_untagged": true}}, 400},
		{"fractional hours", http.MethodPut, map[string]any{"schedule": map[string]any{"type": "Daily"},
			"parameters": map[string]any{"audit_retention_hour": 1.5}}, 400},
		{"zero hours", http.MethodPut, map[string]any{"schedule": map[string]any{"type": "Daily"},
			"parameters": map[string]any{"audit_retention_hour": 0}}, 400},
		{"no hours for a schedule", http.MethodPut, map[string]any{"schedule": map[string]any{"type": "Daily"}}, 400},
		{"bad dry_run", http.MethodPut, map[string]any{"schedule": map[string]any{"type": "Daily"},
			"parameters": map[string]any{"audit_retention_hour": 1, "dry_run": "maybe"}}, 400},
		{"bad type", http.MethodPut, map[string]any{"schedule": map[string]any{"type": "Often"},
			"parameters": map[string]any{"audit_retention_hour": 1}}, 400},
		{"bad cron", http.MethodPut, map[string]any{"schedule": map[string]any{"type": "Custom", "cron": "never"},
			"parameters": map[string]any{"audit_retention_hour": 1}}, 400},
		{"created", http.MethodPost, map[string]any{"schedule": map[string]any{"type": "Weekly"},
			"parameters": map[string]any{"audit_retention_hour": 24, "include_operations": "pull"}}, 201},
		{"updated", http.MethodPut, map[string]any{"schedule": map[string]any{"type": "Daily"},
			"parameters": map[string]any{"audit_retention_hour": 168, "include_operations": "create,delete,pull", "dry_run": false}}, 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(admin(), tt.method, "/system/purgeaudit/schedule", tt.body)
			require.Equal(t, tt.status, r.Status, "body: %s", r.Body)
		})
	}
	var got api.ExecHistory
	e.do(admin(), http.MethodGet, "/system/purgeaudit/schedule", nil).ok(t, http.StatusOK, &got)
	require.NotNil(t, got.Schedule)
	assert.Equal(t, "Daily", got.Schedule.Type)
	assert.Equal(t, "0 0 0 * * *", got.Schedule.Cron)
	require.NotNil(t, got.Schedule.NextScheduledTime)
	assert.Equal(t, maintenance.Scheduled, got.JobKind)
	assert.JSONEq(t, `{"audit_retention_hour":168,"include_operations":"create,delete,pull","dry_run":false}`, got.JobParameters)

	e.do(admin(), http.MethodPut, "/system/purgeaudit/schedule", map[string]any{"schedule": map[string]any{"type": "None"}}).
		ok(t, http.StatusOK, nil)
	got = api.ExecHistory{}
	e.do(admin(), http.MethodGet, "/system/purgeaudit/schedule", nil).ok(t, http.StatusOK, &got)
	assert.Equal(t, "None", got.Schedule.Type)
	assert.Nil(t, got.Schedule.NextScheduledTime)
}

func TestOpenAPIDocumentsLabelsAndPurge(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	store, err := label.New(t.Context(), db)
	require.NoError(t, err)
	e := newEnv(t, api.WithLabels(store), api.WithAuditPurge(&lazyPurge{}))
	r := e.do(anonymous, http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var doc struct {
		Paths      map[string]map[string]map[string]any
		Components struct{ Schemas map[string]any }
	}
	require.NoError(t, json.Unmarshal(r.Body, &doc))
	for path, methods := range map[string][]string{
		"/labels": {"get", "post"}, "/labels/{label_id}": {"get", "put", "delete"},
		"/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/labels":            {"post"},
		"/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/labels/{label_id}": {"delete"},
		"/system/purgeaudit": {"get"}, "/system/purgeaudit/{purge_id}": {"get", "put"},
		"/system/purgeaudit/{purge_id}/log": {"get"}, "/system/purgeaudit/schedule": {"get", "post", "put"},
	} {
		require.Contains(t, doc.Paths, path)
		for _, m := range methods {
			assert.Contains(t, doc.Paths[path], m, path)
		}
	}
	for _, s := range []string{"Label", "ExecHistory", "ExecSchedule", "ScheduleObj"} {
		assert.Contains(t, doc.Components.Schemas, s)
	}
	validateOpenAPI(t, r.Body)
}
