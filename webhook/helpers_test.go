package webhook_test

import (
	"bytes"
	"context"
	"database/sql"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/webhook"
)

// testKey seals secrets in tests.
var testKey = bytes.Repeat([]byte{7}, 32)

// engine is where a test's database lives.
type engine string

const (
	sqlite   engine = "sqlite"   // a file (the job runner needs one), or in memory
	postgres engine = "postgres" // a fresh database on the shared server
)

// onEngines runs fn as subtests on each engine.
func onEngines(t *testing.T, fn func(t *testing.T, eng engine)) {
	t.Helper()
	for _, eng := range []engine{sqlite, postgres} {
		t.Run(string(eng), func(t *testing.T) { fn(t, eng) })
	}
}

// database returns a fresh database of the engine: a SQLite file's path
// or a PostgreSQL URL, for openEnv.
func (eng engine) database(t *testing.T) string {
	if eng == postgres {
		return webhook.PostgresDatabase(t)
	}
	return filepath.Join(t.TempDir(), "berth.db")
}

// open opens the database at where (from database).
func open(t *testing.T, where string) *sqldb.DB {
	t.Helper()
	ctx := context.Background()
	var db *sqldb.DB
	var err error
	switch {
	case strings.HasPrefix(where, "postgres://"):
		db, err = sqldb.OpenPostgres(ctx, where)
	case where == "":
		db, err = sqldb.OpenSQLiteMemory(ctx)
	default:
		db, err = sqldb.OpenSQLite(ctx, where)
	}
	require.NoError(t, err)
	return db
}

// env is a Service with a job runner on the same database, as the server
// runs them.
type env struct {
	t       *testing.T
	where   string
	db      *sqldb.DB
	pool    *sql.DB
	ws      *jobs.Workers
	runner  *jobs.Runner
	svc     *webhook.Service
	started bool
	closed  bool
}

// newEnv opens an env on a fresh database of eng and starts its runner.
func newEnv(t *testing.T, eng engine, opts ...webhook.Option) *env {
	t.Helper()
	e := openEnv(t, eng.database(t), opts...)
	e.start()
	return e
}

// openEnv opens an env on the database at where (engine.database)
// without starting its runner.
func openEnv(t *testing.T, where string, opts ...webhook.Option) *env {
	t.Helper()
	ctx := context.Background()
	db := open(t, where)
	var pool *sql.DB
	var err error
	if db.Dialect() == sqldb.Postgres {
		pool, err = db.NewPool(ctx, 4) // as the server opens River's
	} else {
		pool, err = sql.Open("sqlite", "file:"+where+
			"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(FULL)")
		if pool != nil {
			pool.SetMaxOpenConns(1)
		}
	}
	require.NoError(t, err)
	require.NoError(t, jobs.Migrate(ctx, pool))
	ws := jobs.NewWorkers()
	runner, err := jobs.New(pool, jobs.WithWorkers(ws),
		jobs.WithPollInterval(20*time.Millisecond),
		jobs.WithBackoff(func(int) time.Duration { return 10 * time.Millisecond }),
		jobs.WithStopGrace(2*time.Second))
	require.NoError(t, err)
	all := append([]webhook.Option{
		webhook.WithQueue(runner),
		webhook.WithSecretKey(testKey),
		webhook.WithRegistryHost("reg.example"),
		webhook.WithBackoff(func(int) time.Duration { return 0 }),
		webhook.WithTimeout(5 * time.Second),
	}, opts...)
	svc, err := webhook.NewService(ctx, db, all...)
	require.NoError(t, err)
	require.NoError(t, svc.Register(ws))
	e := &env{t: t, where: where, db: db, pool: pool, ws: ws, runner: runner, svc: svc}
	t.Cleanup(e.close)
	return e
}

func (e *env) start() {
	e.t.Helper()
	require.NoError(e.t, e.runner.Start(context.Background()))
	e.started = true
}

// close stops the runner and closes the database, as a shutdown does.
func (e *env) close() {
	if e.closed {
		return
	}
	e.closed = true
	if e.started {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = e.runner.Stop(ctx)
		cancel()
	}
	_ = e.pool.Close()
	_ = e.db.Close()
}

// policy creates an enabled policy of project projectID sending types to
// targets.
func (e *env) policy(projectID int64, name string, types []webhook.EventType, targets ...webhook.Target) webhook.Policy {
	e.t.Helper()
	p, err := e.svc.Create(context.Background(), webhook.Policy{ProjectID: projectID, Name: name, Enabled: true,
		EventTypes: types, Targets: targets})
	require.NoError(e.t, err)
	return p
}

// waitDeliveries polls the project's delivery log until every delivery
// of policyID is in a final state and there are want of them.
func (e *env) waitDeliveries(projectID, policyID int64, want int) []webhook.Delivery {
	e.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		ds, total, err := e.svc.Deliveries(context.Background(), projectID, policyID, core.Page{Limit: 100})
		require.NoError(e.t, err)
		done := total == want
		for _, d := range ds {
			if d.Status == webhook.StatusPending {
				done = false
			}
		}
		if done {
			return ds
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("deliveries of policy %d: %+v (want %d, all final)", policyID, ds, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// request is what a receiver got.
type request struct {
	path   string
	header http.Header
	body   []byte
}

// receiver is an HTTP server recording requests; answer decides each
// response's status from its 1-based number.
type receiver struct {
	*httptest.Server
	mu     sync.Mutex
	n      int
	got    chan request
	answer func(n int) int
}

func newReceiver(t *testing.T, answer func(n int) int) *receiver {
	t.Helper()
	r := &receiver{got: make(chan request, 64), answer: answer}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.n++
	n := r.n
	r.mu.Unlock()
	r.got <- request{path: req.URL.Path, header: req.Header.Clone(), body: body}
	status := http.StatusOK
	if r.answer != nil {
		status = r.answer(n)
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte("a response body nobody stores"))
}

func (r *receiver) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.n
}

// next waits for the receiver's next request.
func (r *receiver) next(t *testing.T) request {
	t.Helper()
	select {
	case q := <-r.got:
		return q
	case <-time.After(15 * time.Second):
		t.Fatal("the receiver got nothing")
		return request{}
	}
}

// pushEvent is a push of library/alpine:v1 in project projectID.
func pushEvent(projectID int64) webhook.Event {
	return webhook.Event{
		Type:        webhook.PushArtifact,
		ProjectID:   projectID,
		ProjectName: "library",
		Repository:  "library/alpine",
		Digest:      "sha256:" + string(bytes.Repeat([]byte("ab"), 32)),
		Tags:        []string{"v1"},
		MediaType:   "application/vnd.oci.image.manifest.v1+json",
		Size:        1234,
		Operator:    "alice",
		OccurAt:     time.Unix(1700000000, 0),
	}
}

func digestOf(s string) digest.Digest { return digest.Digest(s) }

// newStore is a Service with no job queue on a fresh database of eng
// (SQLite in memory).
func newStore(t *testing.T, eng engine, opts ...webhook.Option) (*webhook.Service, *sqldb.DB) {
	t.Helper()
	where := ""
	if eng == postgres {
		where = eng.database(t)
	}
	db := open(t, where)
	t.Cleanup(func() { _ = db.Close() })
	svc, err := webhook.NewService(context.Background(), db, append([]webhook.Option{webhook.WithSecretKey(testKey)}, opts...)...)
	require.NoError(t, err)
	return svc, db
}
