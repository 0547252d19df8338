package scan_test

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/scan"
)

// peer is a second Service on e's database, as another process of the
// registry runs one; it queues on e's runner and registers no workers.
func (e *env) peer(t *testing.T) *scan.Service {
	t.Helper()
	svc, err := scan.NewService(context.Background(), e.db, scan.WithQueue(e.runner), scan.WithProjects(e.projects),
		scan.WithRegistry(e.reg, "scanner"), scan.WithScanner("static", e.scanner))
	require.NoError(t, err)
	t.Cleanup(func() { _ = svc.Close() })
	return svc
}

// countTasks counts the tasks of kind.
func (e *env) countTasks(t *testing.T, kind scan.TaskKind) int {
	t.Helper()
	var n int
	require.NoError(t, e.db.QueryRow(context.Background(), `SELECT COUNT(*) FROM scan_tasks WHERE kind = ?`, kind).Scan(&n))
	return n
}

// Scans and scan-alls started at once from two Services on one database
// (two processes) make one task each; every caller gets that task. Before
// the active-task index, each caller read "none in progress" before its
// insert, and the 8 callers made up to 8 tasks and queued 8 scans.
func TestConcurrentStartsMakeOneTask(t *testing.T) {
	scan.OnEngines(t, func(t *testing.T) {
		e := newEnv(t)
		// No job runs: the tasks stay pending while the callers race.
		require.NoError(t, e.runner.Stop(context.Background()))
		ctx := context.Background()
		e.createProject(t, "p", project.Metadata{})
		d := e.push(t, "p/app:1")
		a := scan.Artifact{Repository: "p/app", Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json"}
		svcs := []*scan.Service{e.svc, e.peer(t)}

		const n = 8
		scans, alls := make([]scan.Task, n), make([]scan.Task, n)
		var wg sync.WaitGroup
		for i := range n {
			svc := svcs[i%2]
			wg.Go(func() {
				var err error
				scans[i], err = svc.ScanArtifact(ctx, a, scan.TriggerManual)
				assert.NoError(t, err)
			})
			wg.Go(func() {
				var err error
				alls[i], err = svc.ScanAll(ctx, scan.TriggerManual)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		for i := range n {
			assert.Equal(t, scans[0].ID, scans[i].ID, "caller %d", i)
			assert.Equal(t, alls[0].ID, alls[i].ID, "caller %d", i)
		}
		assert.Equal(t, 1, e.countTasks(t, scan.KindVulnerability))
		assert.Equal(t, 1, e.countTasks(t, scan.KindScanAll))

		// Once it ends, the next start makes a new task.
		_, err := svcs[1].StopScan(ctx, d.String())
		require.NoError(t, err)
		next, err := svcs[0].ScanArtifact(ctx, a, scan.TriggerManual)
		require.NoError(t, err)
		assert.NotEqual(t, scans[0].ID, next.ID)
	})
}

// Adapters registered at once under one name: one is stored, the others
// are refused with ErrExists (on PostgreSQL the name check of each saw no
// other, and the unique index's error came back as is). Without a
// built-in scanner, of several registered at once exactly one becomes
// the default.
func TestConcurrentScannerRegistrations(t *testing.T) {
	scan.OnEngines(t, func(t *testing.T) {
		ctx := context.Background()
		db := scan.OpenDB(t)
		var svcs []*scan.Service
		for range 2 {
			svc, err := scan.NewService(ctx, db)
			require.NoError(t, err)
			t.Cleanup(func() { _ = svc.Close() })
			svcs = append(svcs, svc)
		}
		const n = 8
		errs := make([]error, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				_, errs[i] = svcs[i%2].AddScanner(ctx, scan.Registration{Name: "same", URL: "http://adapter"})
			})
		}
		wg.Wait()
		stored := 0
		for _, err := range errs {
			if err == nil {
				stored++
			} else {
				assert.ErrorIs(t, err, scan.ErrExists)
			}
		}
		assert.Equal(t, 1, stored)

		for i := range n {
			wg.Go(func() {
				_, err := svcs[i%2].AddScanner(ctx, scan.Registration{Name: fmt.Sprintf("s%d", i), URL: "http://adapter"})
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		regs, err := svcs[0].Scanners(ctx)
		require.NoError(t, err)
		require.Len(t, regs, n+1)
		defaults := 0
		for _, r := range regs {
			if r.Default {
				defaults++
				assert.Equal(t, "same", r.Name, "the first registered stays the default")
			}
		}
		assert.Equal(t, 1, defaults)
	})
}
