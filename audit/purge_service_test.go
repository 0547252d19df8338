package audit_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/audit"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/maintenance"
	"github.com/berthlabs/berth/schedule"
	"github.com/berthlabs/berth/sqldb"
)

type purgeEnv struct {
	db    *sqldb.DB
	store *audit.Store
	svc   *audit.PurgeService
}

// purgeNow is the fixed clock of purge tests: ten hours after t0, so a
// retention of h hours purges the fixtures before t0+(10-h) hours.
func purgeNow() time.Time { return t0().Add(10 * time.Hour) }

// purgeEngines runs fn on each engine a purge service runs on, as
// subtests named after them: a SQLite file (the job queue in a file of
// its own) and a fresh PostgreSQL database (the job queue in the same
// database, through a pool of its own).
func purgeEngines(t *testing.T, fn func(t *testing.T, engine string)) {
	t.Helper()
	for _, e := range []string{"file", "postgres"} {
		t.Run(e, func(t *testing.T) { fn(t, e) })
	}
}

// newPurgeEnv is a purge service over a store on engine ("file" or
// "postgres"), with a job runner on a pool of its own; started says
// whether the runner works jobs (a runner not started leaves runs
// pending).
func newPurgeEnv(t *testing.T, engine string, started bool, opts ...audit.PurgeOption) *purgeEnv {
	t.Helper()
	ctx := t.Context()
	db := audit.OpenEngine(t, engine)
	store, err := audit.NewStore(ctx, db)
	require.NoError(t, err)
	var pool *sql.DB
	if engine == "postgres" {
		pool, err = db.NewPool(ctx, 4)
	} else {
		pool, err = sql.Open("sqlite", "file:"+filepath.Join(t.TempDir(), "jobs.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
		if err == nil {
			pool.SetMaxOpenConns(1)
		}
	}
	require.NoError(t, err)
	t.Cleanup(func() { _ = pool.Close() })
	require.NoError(t, jobs.Migrate(ctx, pool))
	ws := jobs.NewWorkers()
	runner, err := jobs.New(pool, jobs.WithWorkers(ws), jobs.WithPollInterval(20*time.Millisecond),
		jobs.WithStopGrace(2*time.Second), jobs.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)
	opts = append([]audit.PurgeOption{audit.WithPurgeClock(purgeNow),
		audit.WithPurgeLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}, opts...)
	svc, err := audit.NewPurgeService(ctx, store, runner, opts...)
	require.NoError(t, err)
	require.NoError(t, svc.Register(ws))
	if started {
		require.NoError(t, runner.Start(ctx))
	}
	require.NoError(t, svc.Start(ctx))
	t.Cleanup(func() {
		svc.Close()
		if started {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = runner.Stop(sctx)
		}
	})
	return &purgeEnv{db: db, store: store, svc: svc}
}

// wait returns the run once it has finished.
func (e *purgeEnv) wait(t *testing.T, id int64) audit.PurgeRun {
	t.Helper()
	var r audit.PurgeRun
	require.Eventually(t, func() bool {
		var err error
		r, err = e.svc.Get(t.Context(), id)
		require.NoError(t, err)
		return r.Done()
	}, 20*time.Second, 10*time.Millisecond)
	return r
}

// hours are the fixtures, each hours[i] hours after t0 (instead of
// minutes): the retention decides which go.
func hourlyFixtures() []audit.Entry {
	es := fixtures()
	for i := range es {
		es[i].Time = t0().Add(time.Duration(i) * time.Hour)
	}
	return es
}

func hoursLeft(es []audit.Entry) []int {
	out := make([]int, len(es))
	for i, e := range es {
		out[i] = int(e.Time.Sub(t0()) / time.Hour)
	}
	return out
}

func TestPurgeRuns(t *testing.T) { purgeEngines(t, testPurgeRuns) }

func testPurgeRuns(t *testing.T, engine string) {
	e := newPurgeEnv(t, engine, true)
	record(t, e.store, hourlyFixtures()...)
	tests := []struct {
		name   string
		params audit.PurgeParams
		purged int64
		left   []int
		log    string
	}{
		// Now is t0+10h: keeping 6 hours purges what is older than t0+4h.
		{"dry run changes nothing", audit.PurgeParams{RetentionHours: 6, DryRun: true}, 4,
			[]int{7, 6, 5, 4, 3, 2, 1, 0}, "dry run: 4 entries would be purged; none was"},
		{"by actions", audit.PurgeParams{RetentionHours: 6, Operations: []string{"pull"}}, 2,
			[]int{7, 6, 5, 4, 3, 0}, "deleted 2 entries (pull); 2 so far"},
		{"Harbor's operations", audit.PurgeParams{RetentionHours: 6, Operations: []string{"create", "delete"}}, 2,
			[]int{7, 6, 5, 4}, "purged 2 entries"},
		{"by age, every operation", audit.PurgeParams{RetentionHours: 4}, 2, []int{7, 6}, "every operation"},
	}
	var ids []int64
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := e.svc.Run(t.Context(), tt.params, maintenance.Manual)
			require.NoError(t, err)
			// Recorded Pending; on PostgreSQL a worker, woken by the
			// queue's notification, may have taken it by the time Run
			// reads it back.
			assert.Contains(t, []string{maintenance.StatusPending, maintenance.StatusRunning, maintenance.StatusSuccess}, r.Status)
			assert.Equal(t, purgeNow(), r.Created)
			ids = append([]int64{r.ID}, ids...)
			r = e.wait(t, r.ID)
			assert.Equal(t, maintenance.StatusSuccess, r.Status, r.Error)
			assert.Equal(t, tt.purged, r.Result.Purged)
			assert.Equal(t, tt.params.Operations, r.Params.Operations)
			assert.Equal(t, tt.left, hoursLeft(all(t, e.store)))
			lg, err := e.svc.Log(t.Context(), r.ID)
			require.NoError(t, err)
			assert.Contains(t, lg, tt.log)
			assert.Contains(t, lg, "purging entries recorded before "+purgeNow().Add(-time.Duration(tt.params.RetentionHours)*time.Hour).Format(time.RFC3339))
		})
	}

	hist, total, err := e.svc.History(t.Context(), core.Page{Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, len(tests), total)
	require.Len(t, hist, 2)
	assert.Equal(t, ids[:2], []int64{hist[0].ID, hist[1].ID}, "newest first")
	_, err = e.svc.Get(t.Context(), 999)
	assert.ErrorIs(t, err, core.ErrNotFound)
	_, err = e.svc.Log(t.Context(), 999)
	assert.ErrorIs(t, err, core.ErrNotFound)
}

func TestPurgeRunChecksItsParameters(t *testing.T) { purgeEngines(t, testPurgeRunChecksItsParameters) }

func testPurgeRunChecksItsParameters(t *testing.T, engine string) {
	e := newPurgeEnv(t, engine, false)
	for _, p := range []audit.PurgeParams{
		{RetentionHours: 0},
		{RetentionHours: -1},
		{RetentionHours: audit.MaxRetentionHours + 1},
		{RetentionHours: 1, Operations: []string{"a,b"}},
		{RetentionHours: 1, Operations: []string{string(make([]byte, 65))}},
	} {
		_, err := e.svc.Run(t.Context(), p, maintenance.Manual)
		assert.ErrorIs(t, err, core.ErrInvalid, "%+v", p)
	}
	_, err := e.svc.Run(t.Context(), audit.PurgeParams{RetentionHours: 1}, "SOMETIMES")
	assert.ErrorIs(t, err, core.ErrInvalid)
	hist, total, err := e.svc.History(t.Context(), core.Page{})
	require.NoError(t, err)
	assert.Zero(t, total)
	assert.Empty(t, hist)
}

func TestOnePurgeAtATimeAndStopPending(t *testing.T) {
	purgeEngines(t, testOnePurgeAtATimeAndStopPending)
}

func testOnePurgeAtATimeAndStopPending(t *testing.T, engine string) {
	e := newPurgeEnv(t, engine, false) // runs stay pending
	first, err := e.svc.Run(t.Context(), audit.PurgeParams{RetentionHours: 1}, maintenance.Manual)
	require.NoError(t, err)
	_, err = e.svc.Run(t.Context(), audit.PurgeParams{RetentionHours: 1}, maintenance.Manual)
	assert.ErrorIs(t, err, core.ErrConflict, "one run at a time")
	require.NoError(t, e.svc.Stop(t.Context(), first.ID))
	r, err := e.svc.Get(t.Context(), first.ID)
	require.NoError(t, err)
	assert.Equal(t, maintenance.StatusStopped, r.Status)
	assert.ErrorIs(t, e.svc.Stop(t.Context(), first.ID), core.ErrPrecondition, "a finished run cannot be stopped")
	assert.ErrorIs(t, e.svc.Stop(t.Context(), 999), core.ErrNotFound)
	_, err = e.svc.Run(t.Context(), audit.PurgeParams{RetentionHours: 1}, maintenance.Manual)
	require.NoError(t, err, "after a stop, runs start again")
}

func TestStopARunningPurge(t *testing.T) { purgeEngines(t, testStopARunningPurge) }

func testStopARunningPurge(t *testing.T, engine string) {
	const old = 2000
	e := newPurgeEnv(t, engine, true, audit.WithPurgeBatch(1)) // a transaction per entry: slow
	require.NoError(t, e.db.Write(t.Context(), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(t.Context(), `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
			INSERT INTO audit_log (op_time, actor, actor_kind, action, resource_type, resource, project, result)
			SELECT ?, 'alice', 'user', 'pull', 'artifact', 'r', 'p', 'success' FROM n`,
			old, t0().UnixNano())
		return err
	}))
	r, err := e.svc.Run(t.Context(), audit.PurgeParams{RetentionHours: 1}, maintenance.Manual)
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		got, err := e.svc.Get(t.Context(), r.ID)
		require.NoError(t, err)
		return got.Status == maintenance.StatusRunning
	}, 10*time.Second, time.Millisecond)
	// Its next transaction waits for the writer while it is stopped.
	release := holdWrites(t, e.db)
	require.NoError(t, e.svc.Stop(t.Context(), r.ID))
	release()
	r = e.wait(t, r.ID)
	assert.Equal(t, maintenance.StatusStopped, r.Status)
	assert.Less(t, r.Result.Purged, int64(old))
	_, left, err := e.store.Query(t.Context(), audit.Filter{}, audit.Page{Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, old-int(r.Result.Purged), left, "what it purged is recorded; the rest stays")
	lg, err := e.svc.Log(t.Context(), r.ID)
	require.NoError(t, err)
	assert.Contains(t, lg, fmt.Sprintf("%d entries purged before it ended", r.Result.Purged))
	assert.True(t, strings.HasSuffix(lg, " stopped\n"), lg)
}

func TestPurgeSchedule(t *testing.T) { purgeEngines(t, testPurgeSchedule) }

func testPurgeSchedule(t *testing.T, engine string) {
	e := newPurgeEnv(t, engine, true)
	record(t, e.store, hourlyFixtures()...)
	sc, p, err := e.svc.Schedule(t.Context())
	require.NoError(t, err)
	assert.Equal(t, schedule.None, sc.Type)
	assert.Zero(t, p)

	_, err = e.svc.SetSchedule(t.Context(), schedule.Schedule{Type: schedule.Daily}, audit.PurgeParams{})
	assert.ErrorIs(t, err, core.ErrInvalid, "a schedule needs a retention")
	_, err = e.svc.SetSchedule(t.Context(), schedule.Schedule{Type: "Often"}, audit.PurgeParams{RetentionHours: 1})
	assert.ErrorIs(t, err, core.ErrInvalid)

	want := audit.PurgeParams{RetentionHours: 6, Operations: []string{"pull"}}
	sc, err = e.svc.SetSchedule(t.Context(), schedule.Schedule{Type: schedule.Custom, Cron: "* * * * * *"}, want)
	require.NoError(t, err)
	assert.Equal(t, "* * * * * *", sc.Cron)
	var runs []audit.PurgeRun
	require.Eventually(t, func() bool {
		runs, _, err = e.svc.History(t.Context(), core.Page{})
		require.NoError(t, err)
		return len(runs) > 0
	}, 10*time.Second, 50*time.Millisecond)
	_, err = e.svc.SetSchedule(t.Context(), schedule.Schedule{Type: schedule.None}, audit.PurgeParams{})
	require.NoError(t, err)
	first := runs[len(runs)-1]
	assert.Equal(t, maintenance.Scheduled, first.Kind)
	assert.Equal(t, want, first.Params)
	assert.Equal(t, maintenance.StatusSuccess, e.wait(t, first.ID).Status)
	assert.Equal(t, []int{7, 6, 5, 4, 3, 0}, hoursLeft(all(t, e.store)))

	sc, p, err = e.svc.Schedule(t.Context())
	require.NoError(t, err)
	assert.Equal(t, schedule.None, sc.Type)
	assert.Zero(t, p)
}
