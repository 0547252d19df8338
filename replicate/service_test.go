package replicate_test

import (
	"context"
	"database/sql"
	"github.com/berthlabs/berth/core"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/replicate"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// local is a berth registry with replication wired in, as a server
// embeds it.
type local struct {
	t      *testing.T
	eng    string
	dir    string // SQLite's files
	host   string
	reg    *registry.Registry
	db     *sqldb.DB
	svc    *replicate.Service
	runner *jobs.Runner
	sink   atomic.Pointer[replicate.Service] // svc, for the registry's events
}

// engines runs fn on SQLite (files) and on a fresh PostgreSQL database, as
// subtests named after them.
func engines(t *testing.T, fn func(t *testing.T, eng string)) {
	t.Helper()
	for _, eng := range []string{"sqlite", "postgres"} {
		t.Run(eng, func(t *testing.T) { fn(t, eng) })
	}
}

// newLocal builds the registry, the service and a started job runner on
// eng ("sqlite" or "postgres").
func newLocal(t *testing.T, eng string, opts ...replicate.ServiceOption) *local {
	t.Helper()
	ctx := context.Background()
	l := &local{t: t, eng: eng, dir: t.TempDir()}
	var err error
	if eng == "postgres" {
		l.db, err = sqldb.OpenPostgres(ctx, pg.Database(t))
	} else {
		l.db, err = sqldb.OpenSQLite(ctx, filepath.Join(l.dir, "berth.db"))
	}
	require.NoError(t, err)
	sink := registry.EventSinkFunc(func(ctx context.Context, e registry.Event) {
		if svc := l.sink.Load(); svc != nil {
			svc.Emit(ctx, e)
		}
	})
	l.reg, err = registry.New(ctx, memory.New(), l.db, registry.WithEventSink(sink))
	require.NoError(t, err)
	srv := httptest.NewServer(l.reg)
	l.host = strings.TrimPrefix(srv.URL, "http://")

	pool := l.openJobs(t)
	svc, runner := newService(t, l.db, pool, l.reg, opts...)
	l.setService(svc)
	l.runner = runner
	t.Cleanup(func() {
		stopCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = runner.Stop(stopCtx)
		svc.Close()
		srv.Close()
		_ = pool.Close()
		_ = l.db.Close()
	})
	return l
}

// setService makes svc the local registry's replication service; the
// registry's events go to it from now on (a restarted service replaces
// its predecessor while the old one's copies may still be reading).
func (l *local) setService(svc *replicate.Service) {
	l.svc = svc
	l.sink.Store(svc)
}

// openJobs opens a pool on the job queue's database, migrated: a file of
// its own with SQLite, the same database with PostgreSQL. The caller
// closes it.
func (l *local) openJobs(t *testing.T) *sql.DB {
	t.Helper()
	var pool *sql.DB
	var err error
	if l.eng == "postgres" {
		pool, err = l.db.NewPool(context.Background(), 4)
	} else {
		pool, err = sql.Open("sqlite", "file:"+filepath.Join(l.dir, "jobs.db")+
			"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
		if err == nil {
			pool.SetMaxOpenConns(1)
		}
	}
	require.NoError(t, err)
	require.NoError(t, jobs.Migrate(context.Background(), pool))
	return pool
}

func newService(t *testing.T, db *sqldb.DB, pool *sql.DB, reg *registry.Registry, opts ...replicate.ServiceOption) (*replicate.Service, *jobs.Runner) {
	t.Helper()
	ctx := context.Background()
	ws := jobs.NewWorkers()
	runner, err := jobs.New(pool, jobs.WithWorkers(ws), jobs.WithPollInterval(50*time.Millisecond),
		jobs.WithLogger(slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))))
	require.NoError(t, err)
	opts = append([]replicate.ServiceOption{replicate.WithTaskRetries(3, 100*time.Millisecond),
		replicate.WithSecretKey([]byte("0123456789abcdef0123456789abcdef")),
		replicate.WithEventBatch(50 * time.Millisecond)}, opts...)
	svc, err := replicate.NewService(ctx, db, reg.Transport("replication"), runner, opts...)
	require.NoError(t, err)
	require.NoError(t, svc.Register(ws)) // the runner reads the set when it starts
	require.NoError(t, svc.Start(ctx))
	require.NoError(t, runner.Start(ctx))
	return svc, runner
}

// waitExec waits until execution id finishes and returns it.
func waitExec(t *testing.T, svc *replicate.Service, id int64, within time.Duration) *replicate.Execution {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		e, err := svc.Execution(context.Background(), id)
		require.NoError(t, err)
		if e.Status != replicate.StatusInProgress && e.Status != replicate.StatusPending {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("execution %d still %s after %s: %+v", id, e.Status, within, e)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) time.Duration {
	t.Helper()
	start := time.Now()
	for !cond() {
		if time.Since(start) > within {
			t.Fatalf("%s: not within %s", what, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Since(start)
}

func TestServiceManualEventAndCron(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		ctx := context.Background()
		l := newLocal(t, eng)
		remote := newBerth(t)
		epID, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "remote", URL: remote.url})
		require.NoError(t, err)
		// Credentials at rest: not in the database in clear (WithSecretKey).
		_, err = l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "secret", URL: remote.url, Username: "u", Password: "hunter2-very-secret"})
		require.NoError(t, err)
		rows, err := l.db.Query(ctx, `SELECT body || secret FROM repl_endpoints`)
		require.NoError(t, err)
		for rows.Next() {
			var row string
			require.NoError(t, rows.Scan(&row))
			assert.NotContains(t, row, "hunter2")
		}
		require.NoError(t, rows.Close())
		es, _, err := l.svc.Endpoints(ctx, "", core.Page{Limit: 10})
		require.NoError(t, err)
		require.Len(t, es, 2)
		assert.Empty(t, es[1].Password, "listings never return secrets")
		require.NoError(t, l.svc.PingEndpoint(ctx, replicate.Endpoint{ID: epID}))

		// Manual: two repositories of three, tags v*, into a namespace.
		push(t, l.host, "team/a:v1", randomImage(t, 1000))
		push(t, l.host, "team/a:dev", randomImage(t, 1000))
		push(t, l.host, "team/b:v2", randomImage(t, 1000))
		push(t, l.host, "other/c:v1", randomImage(t, 1000))
		pid, err := l.svc.CreatePolicy(ctx, replicate.Policy{Name: "manual", Mode: replicate.Push, RemoteID: epID, Enabled: true,
			Trigger: replicate.TriggerManual, DestNamespace: "backup", DestNamespaceReplace: 1,
			Filters: []replicate.Filter{{Type: replicate.FilterName, Value: "team/**"}, {Type: replicate.FilterTag, Value: "v*"}}})
		require.NoError(t, err)
		eid, err := l.svc.StartExecution(ctx, pid, replicate.TriggerManual)
		require.NoError(t, err)
		e := waitExec(t, l.svc, eid, 30*time.Second)
		require.Equal(t, replicate.StatusSucceed, e.Status, e.StatusText)
		assert.Equal(t, 2, e.Total)
		assert.Positive(t, e.Bytes)
		assert.NotEmpty(t, digestAt(t, remote.host, "backup/a:v1"))
		assert.NotEmpty(t, digestAt(t, remote.host, "backup/b:v2"))
		assert.Empty(t, digestAt(t, remote.host, "backup/a:dev"))
		assert.Empty(t, digestAt(t, remote.host, "backup/c:v1"))
		tasks, total, err := l.svc.Tasks(ctx, eid, core.Page{Limit: 10})
		require.NoError(t, err)
		require.Equal(t, 2, total)
		log, err := l.svc.TaskLog(ctx, eid, tasks[0].ID)
		require.NoError(t, err)
		assert.Contains(t, log, "done:")

		// Event-based: a fresh push is at the destination within 2 s.
		_, err = l.svc.CreatePolicy(ctx, replicate.Policy{Name: "events", Mode: replicate.Push, RemoteID: epID, Enabled: true,
			Trigger: replicate.TriggerEvent, ReplicateDeletion: true,
			Filters: []replicate.Filter{{Type: replicate.FilterName, Value: "live/*"}}})
		require.NoError(t, err)
		d := push(t, l.host, "live/app:v1", randomImage(t, 2000, 3000))
		took := waitFor(t, 2*time.Second, "event-triggered copy", func() bool { return digestAt(t, remote.host, "live/app:v1") == d })
		t.Logf("event-triggered copy visible at the destination after %s", took)
		// Deleting the tag locally deletes it there.
		require.NoError(t, l.reg.DeleteTag(ctx, "live/app", "v1"))
		waitFor(t, 2*time.Second, "deletion replicated", func() bool { return digestAt(t, remote.host, "live/app:v1") == "" })

		// Cron: every second.
		push(t, l.host, "cron/x:v1", randomImage(t, 500))
		cid, err := l.svc.CreatePolicy(ctx, replicate.Policy{Name: "cron", Mode: replicate.Push, RemoteID: epID, Enabled: true,
			Trigger: replicate.TriggerScheduled, Cron: "* * * * * *",
			Filters: []replicate.Filter{{Type: replicate.FilterName, Value: "cron/x"}}})
		require.NoError(t, err)
		assert.False(t, l.svc.NextRun(cid).IsZero())
		waitFor(t, 5*time.Second, "cron-triggered copy", func() bool { return digestAt(t, remote.host, "cron/x:v1") != "" })
		execs, _, err := l.svc.Executions(ctx, cid, "", core.Page{Limit: 10})
		require.NoError(t, err)
		require.NotEmpty(t, execs)
		assert.Equal(t, replicate.TriggerScheduled, execs[0].Trigger)
		// Disabling stops the schedule.
		p, err := l.svc.Policy(ctx, cid)
		require.NoError(t, err)
		p.Enabled = false
		require.NoError(t, l.svc.UpdatePolicy(ctx, *p))
		assert.True(t, l.svc.NextRun(cid).IsZero())
		assert.ErrorIs(t, l.svc.DeleteEndpoint(ctx, epID), replicate.ErrInUse)
		assert.ErrorIs(t, l.svc.DeleteEndpoint(ctx, 999), replicate.ErrNotFound)
	})
}

// An endpoint keeps its type; an unknown type is refused; a user named by
// WithEndpointUsers (a proxy cache project) keeps it from being deleted;
// EndpointWithPassword gives the password to the process's own components.
func TestEndpointTypeUsersAndPassword(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		ctx := context.Background()
		var user string
		l := newLocal(t, eng, replicate.WithEndpointUsers(func(context.Context, int64) (string, error) { return user, nil }))
		id, err := l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "hub", URL: "https://registry-1.docker.io",
			Type: replicate.TypeDockerHub, Username: "u", Password: "p4ss"})
		require.NoError(t, err)
		_, err = l.svc.CreateEndpoint(ctx, replicate.Endpoint{Name: "odd", URL: "https://x.example", Type: "gcr-ish"})
		require.ErrorIs(t, err, replicate.ErrInvalid)

		e, err := l.svc.Endpoint(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, replicate.TypeDockerHub, e.Type)
		assert.Empty(t, e.Password)
		e, err = l.svc.EndpointWithPassword(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, "p4ss", e.Password)

		user = `proxy cache project "hub"`
		err = l.svc.DeleteEndpoint(ctx, id)
		require.ErrorIs(t, err, replicate.ErrInUse)
		assert.ErrorContains(t, err, `project "hub"`)
		user = ""
		require.NoError(t, l.svc.DeleteEndpoint(ctx, id))
	})
}
