package retention_test

import (
	"context"
	"database/sql"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/opencontainers/go-digest"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/retention"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
	"github.com/berthlabs/berth/tagselect"
)

type env struct {
	db       *sqldb.DB
	reg      *registry.Registry
	srv      *httptest.Server
	projects *project.Store
	rules    *immutable.Store
	runner   *jobs.Runner
	svc      *retention.Service

	mu       sync.Mutex
	notified []retention.Summary
}

type envOptions struct {
	protect  bool // WithImmutable: the executor protects immutable tags itself
	gate     bool // the registry's delete gate enforces immutability
	noRunner bool // the job runner is not started
	wrap     func(retention.Registry) retention.Registry
	opts     []retention.ServiceOption
}

// lazyArtifacts lets the immutability gate be built before the registry.
type lazyArtifacts struct{ reg *registry.Registry }

func (l *lazyArtifacts) GetArtifact(ctx context.Context, repo, ref string) (*registry.Artifact, error) {
	return l.reg.GetArtifact(ctx, repo, ref)
}

// engines runs fn on a SQLite file (the job queue in a file of its own)
// and on a fresh PostgreSQL database (the job queue in the same
// database, through a pool of its own), as subtests named after them.
func engines(t *testing.T, fn func(t *testing.T, eng string)) {
	t.Helper()
	for _, eng := range []string{"sqlite", "postgres"} {
		t.Run(eng, func(t *testing.T) { fn(t, eng) })
	}
}

// openEngine opens berth's database and the job queue's pool on eng, both
// closed when the test ends.
func openEngine(t *testing.T, eng string) (*sqldb.DB, *sql.DB) {
	t.Helper()
	ctx := t.Context()
	var db *sqldb.DB
	var pool *sql.DB
	var err error
	if eng == "postgres" {
		db, err = sqldb.OpenPostgres(ctx, retention.PostgresDatabase(t))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		pool, err = db.NewPool(ctx, 4)
	} else {
		dir := t.TempDir()
		db, err = sqldb.OpenSQLite(ctx, filepath.Join(dir, "berth.db"))
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		pool, err = sql.Open("sqlite", "file:"+filepath.Join(dir, "jobs.db")+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
		if err == nil {
			pool.SetMaxOpenConns(1)
		}
	}
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	require.NoError(t, jobs.Migrate(ctx, pool))
	return db, pool
}

// skipUnported skips a PostgreSQL test that needs a store of another
// package that has no PostgreSQL migrations yet.
func skipUnported(t *testing.T, err error) {
	t.Helper()
	if err != nil && strings.Contains(err.Error(), "no migrations for the postgres dialect") {
		t.Skipf("not yet on PostgreSQL: %v", err)
	}
}

func newEnv(t *testing.T, eng string, o envOptions) *env {
	t.Helper()
	ctx := t.Context()
	db, pool := openEngine(t, eng)
	e := &env{db: db}
	var err error
	e.projects, err = project.NewStore(ctx, db)
	require.NoError(t, err)
	if o.protect || o.gate {
		e.rules, err = immutable.NewStore(ctx, db)
		skipUnported(t, err)
		require.NoError(t, err)
	}
	regOpts := []registry.Option{registry.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))}
	arts := &lazyArtifacts{}
	if o.gate {
		gate := immutable.NewGate(e.rules, e.projects, arts)
		regOpts = append(regOpts, registry.WithPushGate(gate), registry.WithDeleteGate(gate))
	}
	e.reg, err = registry.New(ctx, memory.New(), db, regOpts...)
	require.NoError(t, err)
	arts.reg = e.reg
	e.srv = httptest.NewServer(e.reg)
	t.Cleanup(e.srv.Close)

	ws := jobs.NewWorkers()
	e.runner, err = jobs.New(pool, jobs.WithWorkers(ws), jobs.WithPollInterval(20*time.Millisecond),
		jobs.WithStopGrace(2*time.Second), jobs.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	require.NoError(t, err)

	var reg retention.Registry = e.reg
	if o.wrap != nil {
		reg = o.wrap(reg)
	}
	opts := append([]retention.ServiceOption{
		retention.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		retention.WithNotifier(func(_ context.Context, _ int64, s retention.Summary) {
			e.mu.Lock()
			e.notified = append(e.notified, s)
			e.mu.Unlock()
		}),
	}, o.opts...)
	if o.protect {
		opts = append(opts, retention.WithImmutable(e.rules))
	}
	e.svc, err = retention.New(ctx, db, reg, e.projects, e.runner, opts...)
	require.NoError(t, err)
	require.NoError(t, e.svc.Register(ws))
	if !o.noRunner {
		require.NoError(t, e.runner.Start(ctx))
	}
	require.NoError(t, e.svc.Start(ctx))
	t.Cleanup(func() {
		e.svc.Close()
		if !o.noRunner {
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			_ = e.runner.Stop(sctx)
		}
	})
	return e
}

func (e *env) project(t *testing.T, name string) int64 {
	t.Helper()
	p, err := e.projects.Create(t.Context(), project.Project{Name: name})
	require.NoError(t, err)
	return p.ID
}

func (e *env) ref(t *testing.T, ref string) name.Reference {
	t.Helper()
	r, err := name.ParseReference(strings.TrimPrefix(e.srv.URL, "http://")+"/"+ref, name.Insecure)
	require.NoError(t, err)
	return r
}

// push pushes a new random image to repo:tag for each tag given (untagged,
// by digest, for none) and returns its digest.
func (e *env) push(t *testing.T, repo string, tags ...string) digest.Digest {
	t.Helper()
	img, err := random.Image(128, 1)
	require.NoError(t, err)
	d, err := img.Digest()
	require.NoError(t, err)
	if len(tags) == 0 {
		require.NoError(t, remote.Write(e.ref(t, repo+"@"+d.String()), img))
	}
	for _, tag := range tags {
		require.NoError(t, remote.Write(e.ref(t, repo+":"+tag), img))
	}
	return digest.Digest(d.String())
}

// pushIndex pushes a multi-arch image of two platforms to repo:tag and
// returns its digest and its children's.
func (e *env) pushIndex(t *testing.T, repo, tag string) (digest.Digest, []digest.Digest) {
	t.Helper()
	idx, err := random.Index(128, 1, 2)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(e.ref(t, repo+":"+tag), idx))
	d, err := idx.Digest()
	require.NoError(t, err)
	m, err := idx.IndexManifest()
	require.NoError(t, err)
	var children []digest.Digest
	for _, c := range m.Manifests {
		children = append(children, digest.Digest(c.Digest.String()))
	}
	return digest.Digest(d.String()), children
}

var never = time.Duration(-1)

// age sets when an artifact and its tags were pushed and last pulled
// (never, for a negative pulledAgo).
func (e *env) age(t *testing.T, repo string, d digest.Digest, pushedAgo, pulledAgo time.Duration) {
	t.Helper()
	now := time.Now()
	pushed, pulled := now.Add(-pushedAgo).UnixNano(), int64(0)
	if pulledAgo >= 0 {
		pulled = now.Add(-pulledAgo).UnixNano()
	}
	require.NoError(t, e.db.Write(t.Context(), func(tx *sqldb.Tx) error {
		if _, err := tx.Exec(t.Context(), `UPDATE registry_repo_manifests SET created_at = ?, pulled_at = ? WHERE repo = ? AND digest = ?`,
			pushed, pulled, repo, d.String()); err != nil {
			return err
		}
		_, err := tx.Exec(t.Context(), `UPDATE registry_tags SET updated_at = ?, pulled_at = ? WHERE repo = ? AND digest = ?`,
			pushed, pulled, repo, d.String())
		return err
	}))
}

func (e *env) exists(t *testing.T, repo string, d digest.Digest) bool {
	t.Helper()
	_, err := e.reg.GetArtifact(t.Context(), repo, d.String())
	if errors.Is(err, core.ErrNotFound) {
		return false
	}
	require.NoError(t, err)
	return true
}

func (e *env) count(t *testing.T, repo string) int {
	t.Helper()
	_, total, err := e.reg.ListArtifacts(t.Context(), repo, core.Page{})
	if errors.Is(err, core.ErrNotFound) {
		return 0
	}
	require.NoError(t, err)
	return total
}

// wait returns the execution once it has finished.
func (e *env) wait(t *testing.T, policyID, id int64) retention.Execution {
	t.Helper()
	var ex retention.Execution
	require.Eventually(t, func() bool {
		var err error
		ex, err = e.svc.Execution(context.Background(), policyID, id)
		require.NoError(t, err)
		return ex.Status != retention.StatusPending && ex.Status != retention.StatusRunning
	}, 30*time.Second, 20*time.Millisecond)
	return ex
}

func (e *env) tasks(t *testing.T, policyID, id int64) []retention.Task {
	t.Helper()
	ts, total, err := e.svc.Tasks(t.Context(), policyID, id, core.Page{})
	require.NoError(t, err)
	require.Len(t, ts, total)
	return ts
}

func (e *env) log(t *testing.T, policyID int64, task retention.Task) string {
	t.Helper()
	l, err := e.svc.TaskLog(t.Context(), policyID, task.ExecutionID, task.ID)
	require.NoError(t, err)
	return l
}

func every() []tagselect.Selector {
	return []tagselect.Selector{{Kind: tagselect.Kind, Decoration: tagselect.RepoMatches, Pattern: "**"}}
}

func tags(pattern string) []tagselect.Selector {
	return []tagselect.Selector{{Kind: tagselect.Kind, Decoration: tagselect.Matches, Pattern: pattern}}
}

// policy keeps the two latest v* and whatever was pulled within a week.
func policy(projectID int64) retention.ProjectPolicy {
	return retention.ProjectPolicy{ProjectID: projectID, Policy: retention.Policy{Algorithm: "or", Rules: []retention.Rule{{
		Template: retention.LatestPushedK, Params: map[string]int{retention.LatestPushedK: 2},
		ScopeSelectors: every(), TagSelectors: tags("v*"),
	}, {
		Template: retention.NDaysSinceLastPull, Params: map[string]int{retention.NDaysSinceLastPull: 7},
		ScopeSelectors: every(), TagSelectors: tags("**"),
	}}}}
}

func TestExecutionEndToEnd(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		e := newEnv(t, eng, envOptions{protect: true, gate: true})
		ctx := t.Context()
		team := e.project(t, "team")
		other := e.project(t, "other")

		v1 := e.push(t, "team/app", "v1")
		e.age(t, "team/app", v1, 10*day, 3*day) // pulled lately: rule 2
		v0 := e.push(t, "team/app", "v0")
		e.age(t, "team/app", v0, 20*day, never) // third v*, not pulled: deleted
		v2 := e.push(t, "team/app", "v2")
		e.age(t, "team/app", v2, 5*day, never) // rule 1
		v3 := e.push(t, "team/app", "v3", "latest")
		e.age(t, "team/app", v3, day, never) // rule 1
		dev := e.push(t, "team/app", "dev-1")
		e.age(t, "team/app", dev, 2*day, never) // no rule: deleted
		untagged := e.push(t, "team/app")
		e.age(t, "team/app", untagged, 2*day, never) // untagged: deleted
		kept := e.push(t, "team/app", "keep-1")
		e.age(t, "team/app", kept, 40*day, never) // immutable: protected
		_, err := e.rules.Create(ctx, immutable.ProjectRule{ProjectID: team, Rule: immutable.Rule{
			ScopeSelectors: every(), TagSelectors: tags("keep-*")}})
		require.NoError(t, err)

		web := e.push(t, "team/web", "x")
		e.age(t, "team/web", web, day, day) // rule 2

		newIdx, newKids := e.pushIndex(t, "team/multi", "v9")
		e.age(t, "team/multi", newIdx, day, never) // rule 1: kept with its platforms
		oldIdx, oldKids := e.pushIndex(t, "team/multi", "old")
		e.age(t, "team/multi", oldIdx, 30*day, never) // deleted with its platforms
		for _, k := range append(newKids, oldKids...) {
			e.age(t, "team/multi", k, 30*day, never)
		}

		elsewhere := e.push(t, "other/app", "v0")
		e.age(t, "other/app", elsewhere, 100*day, never) // another project: untouched

		p, err := e.svc.Create(ctx, policy(team))
		require.NoError(t, err)
		assert.Equal(t, team, p.ID, "a policy's id is its project's")
		_, err = e.svc.Create(ctx, policy(other))
		require.NoError(t, err)

		// A dry run decides and logs, and changes nothing.
		before := map[string]int{"team/app": e.count(t, "team/app"), "team/web": 1, "team/multi": e.count(t, "team/multi")}
		dry, err := e.svc.Run(ctx, team, true, retention.TriggerManual)
		require.NoError(t, err)
		assert.Equal(t, retention.StatusPending, dry.Status)
		assert.True(t, dry.DryRun)
		dry = e.wait(t, team, dry.ID)
		assert.Equal(t, retention.StatusSuccess, dry.Status)
		for repo, n := range before {
			assert.Equal(t, n, e.count(t, repo), "a dry run deletes nothing in %s", repo)
		}
		dryTasks := e.tasks(t, team, dry.ID)
		require.Len(t, dryTasks, 3)
		assert.Equal(t, "team/app", dryTasks[0].Repository)
		assert.Equal(t, 7, dryTasks[0].Total)
		assert.Equal(t, 4, dryTasks[0].Retained, "v1, v2, v3 and the protected keep-1 would stay")
		dryLog := e.log(t, team, dryTasks[0])
		assert.Contains(t, dryLog, "dry run")
		assert.Contains(t, dryLog, v0.String())
		assert.Contains(t, dryLog, "would be deleted")

		ex, err := e.svc.Run(ctx, team, false, retention.TriggerManual)
		require.NoError(t, err)
		ex = e.wait(t, team, ex.ID)
		assert.Equal(t, retention.StatusSuccess, ex.Status, ex.Error)
		assert.Equal(t, retention.TriggerManual, ex.Trigger)
		assert.False(t, ex.EndTime.Before(ex.StartTime))

		for _, d := range []digest.Digest{v1, v2, v3, kept} {
			assert.True(t, e.exists(t, "team/app", d), "%s is retained", d)
		}
		for _, d := range []digest.Digest{v0, dev, untagged} {
			assert.False(t, e.exists(t, "team/app", d), "%s is deleted", d)
		}
		assert.True(t, e.exists(t, "team/web", web))
		assert.True(t, e.exists(t, "team/multi", newIdx))
		for _, k := range newKids {
			assert.True(t, e.exists(t, "team/multi", k), "a retained index keeps its platforms")
		}
		assert.False(t, e.exists(t, "team/multi", oldIdx))
		for _, k := range oldKids {
			assert.False(t, e.exists(t, "team/multi", k), "a deleted index takes its platforms")
		}
		assert.True(t, e.exists(t, "other/app", elsewhere), "another project's repositories are not touched")

		ts := e.tasks(t, team, ex.ID)
		require.Len(t, ts, 3)
		byRepo := map[string]retention.Task{}
		for _, task := range ts {
			byRepo[task.Repository] = task
			assert.Equal(t, retention.StatusSuccess, task.Status)
			assert.Equal(t, 3, task.StatusCode())
			assert.NotEmpty(t, task.JobID)
			assert.Equal(t, ex.ID, task.ExecutionID)
			assert.False(t, task.StartTime.IsZero())
			assert.False(t, task.EndTime.IsZero())
		}
		assert.Equal(t, 7, byRepo["team/app"].Total)
		assert.Equal(t, 4, byRepo["team/app"].Retained)
		assert.Equal(t, 2, byRepo["team/multi"].Total, "an index counts once")
		assert.Equal(t, 1, byRepo["team/multi"].Retained)
		assert.Equal(t, 1, byRepo["team/web"].Retained)

		appLog := e.log(t, team, byRepo["team/app"])
		assert.Contains(t, appLog, "DELETED")
		assert.Contains(t, appLog, "PROTECT")
		assert.Contains(t, appLog, "the tag keep-1 is immutable")
		assert.Contains(t, appLog, "retained by rule 1")
		assert.Contains(t, appLog, "retained by rule 2")
		multiLog := e.log(t, team, byRepo["team/multi"])
		assert.Contains(t, multiLog, "child of "+oldIdx.String())

		// History, newest first.
		hist, total, err := e.svc.Executions(ctx, team, core.Page{})
		require.NoError(t, err)
		assert.Equal(t, 2, total)
		assert.Equal(t, []int64{ex.ID, dry.ID}, []int64{hist[0].ID, hist[1].ID})
		_, err = e.svc.Execution(ctx, other, ex.ID)
		assert.ErrorIs(t, err, core.ErrNotFound, "an execution of another policy")
		_, err = e.svc.TaskLog(ctx, other, ex.ID, ts[0].ID)
		assert.ErrorIs(t, err, core.ErrNotFound)

		// The notifier heard of the execution, not of the dry run. It is
		// told after the execution's end is recorded, which wait saw.
		var notified []retention.Summary
		require.Eventually(t, func() bool {
			e.mu.Lock()
			defer e.mu.Unlock()
			notified = append([]retention.Summary(nil), e.notified...)
			return len(notified) > 0
		}, 10*time.Second, 10*time.Millisecond)
		require.Len(t, notified, 1)
		n := notified[0]
		assert.Equal(t, ex.ID, n.ExecutionID)
		assert.Equal(t, "team", n.ProjectName)
		assert.Equal(t, retention.StatusSuccess, n.Status)
		assert.Equal(t, 10, n.Total)
		assert.Equal(t, 6, n.Retained)
		assert.Equal(t, 6, n.DeletedCount, "three images, an index and its two platforms")
		assert.Len(t, n.Rules, 2)

		assert.Equal(t, 1.0, metric(t, e.svc, "berth_retention_executions_total", "status", "Success", "dry_run", "false"))
		assert.Equal(t, 1.0, metric(t, e.svc, "berth_retention_executions_total", "status", "Success", "dry_run", "true"))
		assert.Equal(t, 6.0, metric(t, e.svc, "berth_retention_artifacts_deleted_total"))

		// Run again: nothing left to delete.
		again, err := e.svc.Run(ctx, team, false, retention.TriggerManual)
		require.NoError(t, err)
		assert.Equal(t, retention.StatusSuccess, e.wait(t, team, again.ID).Status)
		for _, task := range e.tasks(t, team, again.ID) {
			assert.Equal(t, task.Total, task.Retained, task.Repository)
		}
	})
}

func TestRefusedDeletionIsLoggedAndTheRunGoesOn(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		// No protection in the executor: the registry's gate refuses.
		e := newEnv(t, eng, envOptions{gate: true})
		ctx := t.Context()
		team := e.project(t, "team")
		kept := e.push(t, "team/app", "keep-1")
		e.age(t, "team/app", kept, 40*day, never)
		gone := e.push(t, "team/app", "tmp")
		e.age(t, "team/app", gone, 40*day, never)
		_, err := e.rules.Create(ctx, immutable.ProjectRule{ProjectID: team, Rule: immutable.Rule{
			ScopeSelectors: every(), TagSelectors: tags("keep-*")}})
		require.NoError(t, err)
		_, err = e.svc.Create(ctx, policy(team))
		require.NoError(t, err)

		ex, err := e.svc.Run(ctx, team, false, retention.TriggerManual)
		require.NoError(t, err)
		ex = e.wait(t, team, ex.ID)
		assert.Equal(t, retention.StatusError, ex.Status)
		assert.True(t, e.exists(t, "team/app", kept))
		assert.False(t, e.exists(t, "team/app", gone), "the run went on")
		ts := e.tasks(t, team, ex.ID)
		require.Len(t, ts, 1)
		assert.Equal(t, retention.StatusError, ts[0].Status)
		assert.Equal(t, 2, ts[0].Total)
		assert.Equal(t, 1, ts[0].Retained)
		l := e.log(t, team, ts[0])
		assert.Contains(t, l, "FAILED")
		assert.Contains(t, l, "the tag keep-1 configured as immutable, cannot be deleted")
	})
}

// blocking holds every listing of artifacts until released.
type blocking struct {
	retention.Registry
	started chan struct{}
	release chan struct{}
	once    sync.Once
}

func (b *blocking) ListArtifacts(ctx context.Context, repo string, page core.Page) ([]registry.Artifact, int, error) {
	b.once.Do(func() { close(b.started) })
	select {
	case <-b.release:
		return b.Registry.ListArtifacts(ctx, repo, page)
	case <-ctx.Done():
		return nil, 0, ctx.Err()
	}
}

func TestOneExecutionAtATimeAndStop(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		b := &blocking{started: make(chan struct{}), release: make(chan struct{})}
		e := newEnv(t, eng, envOptions{wrap: func(r retention.Registry) retention.Registry { b.Registry = r; return b }})
		ctx := t.Context()
		team := e.project(t, "team")
		e.push(t, "team/a", "x")
		e.push(t, "team/b", "x")
		_, err := e.svc.Create(ctx, policy(team))
		require.NoError(t, err)

		first, err := e.svc.Run(ctx, team, false, retention.TriggerManual)
		require.NoError(t, err)
		<-b.started
		cur, err := e.svc.Execution(ctx, team, first.ID)
		require.NoError(t, err)
		assert.Equal(t, retention.StatusRunning, cur.Status)
		_, err = e.svc.Run(ctx, team, true, retention.TriggerManual)
		assert.ErrorIs(t, err, core.ErrConflict, "one execution of a policy at a time")

		require.NoError(t, e.svc.Stop(ctx, team, first.ID))
		assert.Equal(t, retention.StatusStopped, e.wait(t, team, first.ID).Status)
		for _, task := range e.tasks(t, team, first.ID) {
			assert.Equal(t, retention.StatusStopped, task.Status, task.Repository)
		}
		assert.ErrorIs(t, e.svc.Stop(ctx, team, first.ID), core.ErrPrecondition, "a finished execution")
		assert.Equal(t, 2, e.count(t, "team/a")+e.count(t, "team/b"), "nothing deleted")

		close(b.release)
		second, err := e.svc.Run(ctx, team, false, retention.TriggerManual)
		require.NoError(t, err, "after a stop, executions start again")
		assert.Equal(t, retention.StatusSuccess, e.wait(t, team, second.ID).Status)
	})
}

func TestStopAnExecutionNotWorkingHere(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		e := newEnv(t, eng, envOptions{noRunner: true})
		ctx := t.Context()
		team := e.project(t, "team")
		_, err := e.svc.Create(ctx, policy(team))
		require.NoError(t, err)
		ex, err := e.svc.Run(ctx, team, false, retention.TriggerManual)
		require.NoError(t, err)
		assert.Equal(t, retention.StatusPending, ex.Status)
		require.NoError(t, e.svc.Stop(ctx, team, ex.ID))
		ex, err = e.svc.Execution(ctx, team, ex.ID)
		require.NoError(t, err)
		assert.Equal(t, retention.StatusStopped, ex.Status)
		assert.False(t, ex.EndTime.IsZero())
	})
}

func TestScheduledExecutions(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		t.Parallel() // mostly waiting for ticks: both engines at once
		e := newEnv(t, eng, envOptions{opts: []retention.ServiceOption{retention.WithTick("* * * * * *")}})
		ctx := t.Context()
		team := e.project(t, "team")
		old := e.push(t, "team/app", "tmp")
		e.age(t, "team/app", old, 40*day, never)
		p := policy(team)
		p.Schedule = "* * * * * *"
		p, err := e.svc.Create(ctx, p)
		require.NoError(t, err)
		assert.False(t, p.NextRun.IsZero())

		var hist []retention.Execution
		require.Eventually(t, func() bool {
			hist, _, err = e.svc.Executions(context.Background(), team, core.Page{})
			require.NoError(t, err)
			return len(hist) > 0 && hist[len(hist)-1].Status == retention.StatusSuccess
		}, 20*time.Second, 50*time.Millisecond)
		first := hist[len(hist)-1]
		assert.Equal(t, retention.TriggerSchedule, first.Trigger)
		assert.False(t, first.DryRun)
		assert.False(t, e.exists(t, "team/app", old))

		p.Schedule = ""
		p, err = e.svc.Update(ctx, p)
		require.NoError(t, err)
		assert.True(t, p.NextRun.IsZero())
		_, before, err := e.svc.Executions(ctx, team, core.Page{})
		require.NoError(t, err)
		require.Eventually(t, func() bool { // one may have been starting as the schedule was removed
			_, n, err := e.svc.Executions(context.Background(), team, core.Page{})
			require.NoError(t, err)
			hist, _, _ := e.svc.Executions(context.Background(), team, core.Page{Limit: 1})
			return n <= before+1 && (len(hist) == 0 || hist[0].Status != retention.StatusPending && hist[0].Status != retention.StatusRunning)
		}, 10*time.Second, 50*time.Millisecond)
		_, settled, err := e.svc.Executions(ctx, team, core.Page{})
		require.NoError(t, err)
		time.Sleep(2500 * time.Millisecond)
		_, after, err := e.svc.Executions(ctx, team, core.Page{})
		require.NoError(t, err)
		assert.Equal(t, settled, after, "no schedule, no executions")
	})
}

func TestPoliciesAndForgetProject(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		e := newEnv(t, eng, envOptions{})
		ctx := t.Context()
		team := e.project(t, "team")
		e.projects.OnDelete(func(ctx context.Context, tx *sqldb.Tx, p project.Project) error {
			return e.svc.ForgetProject(ctx, tx, p.ID)
		})

		_, err := e.svc.Get(ctx, team)
		assert.ErrorIs(t, err, core.ErrNotFound)
		bad := policy(team)
		bad.Rules[0].Template = "nothing"
		_, err = e.svc.Create(ctx, bad)
		assert.ErrorIs(t, err, core.ErrInvalid)
		bad = policy(team)
		bad.Schedule = "every day"
		_, err = e.svc.Create(ctx, bad)
		assert.ErrorIs(t, err, core.ErrInvalid)
		bad = policy(team)
		bad.Rules = make([]retention.Rule, retention.MaxRules+1)
		for i := range bad.Rules {
			bad.Rules[i] = retention.Rule{Template: retention.Always}
		}
		_, err = e.svc.Create(ctx, bad)
		assert.ErrorIs(t, err, core.ErrInvalid, "at most 15 rules")
		_, err = e.svc.Create(ctx, policy(999))
		assert.ErrorIs(t, err, core.ErrNotFound, "an unknown project")

		p, err := e.svc.Create(ctx, policy(team))
		require.NoError(t, err)
		assert.Equal(t, retention.AlgorithmOR, p.Algorithm)
		assert.Equal(t, 2, p.Rules[0].Param())
		_, err = e.svc.Create(ctx, policy(team))
		assert.ErrorIs(t, err, core.ErrExists, "one policy a project")

		p.Rules = p.Rules[:1]
		p.Rules[0].Params = map[string]int{retention.LatestPushedK: 5}
		p.Schedule = "0 0 2 * * *"
		up, err := e.svc.Update(ctx, p)
		require.NoError(t, err)
		assert.Len(t, up.Rules, 1)
		assert.Equal(t, 5, up.Rules[0].Param())
		assert.Equal(t, "0 0 2 * * *", up.Schedule)
		assert.False(t, up.NextRun.IsZero())
		got, err := e.svc.Get(ctx, team)
		require.NoError(t, err)
		assert.Equal(t, up.Rules, got.Rules)
		_, err = e.svc.Update(ctx, policy(999))
		assert.ErrorIs(t, err, core.ErrNotFound)

		ex, err := e.svc.Run(ctx, team, true, retention.TriggerManual)
		require.NoError(t, err)
		e.wait(t, team, ex.ID)
		_, err = e.svc.Run(ctx, 999, true, retention.TriggerManual)
		assert.ErrorIs(t, err, core.ErrNotFound)
		_, err = e.svc.Run(ctx, team, true, "LATER")
		assert.ErrorIs(t, err, core.ErrInvalid)

		require.NoError(t, e.projects.Delete(ctx, "team"))
		_, err = e.svc.Get(ctx, team)
		assert.ErrorIs(t, err, core.ErrNotFound, "the project's policy went with it")
		_, err = e.svc.Execution(ctx, team, ex.ID)
		assert.ErrorIs(t, err, core.ErrNotFound, "and its history")
		assert.ErrorIs(t, e.db.Write(ctx, func(tx *sqldb.Tx) error { return e.svc.ForgetProject(ctx, tx, 0) }), core.ErrInvalid)

		// Delete removes a policy and its history.
		again := e.project(t, "again")
		_, err = e.svc.Create(ctx, policy(again))
		require.NoError(t, err)
		ex, err = e.svc.Run(ctx, again, true, retention.TriggerManual)
		require.NoError(t, err)
		e.wait(t, again, ex.ID)
		require.NoError(t, e.svc.Delete(ctx, again))
		assert.ErrorIs(t, e.svc.Delete(ctx, again), core.ErrNotFound)
		_, _, err = e.svc.Executions(ctx, again, core.Page{})
		assert.ErrorIs(t, err, core.ErrNotFound)
	})
}

// Starters of one policy's execution at the same moment: exactly one
// starts, every other is told core.ErrConflict; creators of one project's
// policy: exactly one creates it, every other is told core.ErrExists. On
// PostgreSQL, where the starters' transactions run side by side, every
// starter used to find no execution in progress and each inserted one,
// and the second creator failed on the key with a constraint error.
func TestConcurrentStartersStartOneExecution(t *testing.T) {
	engines(t, func(t *testing.T, eng string) {
		e := newEnv(t, eng, envOptions{noRunner: true}) // executions stay pending
		ctx := t.Context()
		team := e.project(t, "team")
		const starters, rounds = 8, 5
		race := func(start func() error) (won int, errs []error) {
			var wg sync.WaitGroup
			var mu sync.Mutex
			gate := make(chan struct{})
			for range starters {
				wg.Go(func() {
					<-gate
					err := start()
					mu.Lock()
					defer mu.Unlock()
					if err == nil {
						won++
					} else {
						errs = append(errs, err)
					}
				})
			}
			close(gate)
			wg.Wait()
			return won, errs
		}

		won, errs := race(func() error { _, err := e.svc.Create(ctx, policy(team)); return err })
		require.Equal(t, 1, won, "one policy a project")
		for _, err := range errs {
			require.ErrorIs(t, err, core.ErrExists)
		}
		for round := range rounds {
			won, errs := race(func() error { _, err := e.svc.Run(ctx, team, true, retention.TriggerManual); return err })
			require.Equal(t, 1, won, "round %d: one execution starts", round)
			for _, err := range errs {
				require.ErrorIs(t, err, core.ErrConflict, "round %d", round)
			}
			hist, total, err := e.svc.Executions(ctx, team, core.Page{})
			require.NoError(t, err)
			require.Equal(t, round+1, total)
			require.Equal(t, retention.StatusPending, hist[0].Status)
			require.NoError(t, e.svc.Stop(ctx, team, hist[0].ID))
		}
	})
}

// metric reads one value of the service's metrics, by name and label
// pairs.
func metric(t *testing.T, s *retention.Service, name string, labels ...string) float64 {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	require.NoError(t, reg.Register(s.Collector()))
	mfs, err := reg.Gather()
	require.NoError(t, err)
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue next
				}
			}
			if m.GetCounter() != nil {
				return m.GetCounter().GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s %v", name, labels)
	return 0
}
