package scan_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/jobs"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/sqldb"
)

// A scan queued by a process that stops before working it runs when the
// next process starts on the same database; its task, log and report are
// there to read.
func TestScanDurableAcrossRestart(t *testing.T) {
	scan.OnEngines(t, func(t *testing.T) {
		ctx := context.Background()
		openDB := scan.DBOpener(t)
		d := digest.FromString("manifest")
		art := scan.Artifact{Repository: "p/app", Digest: d, MediaType: "application/vnd.oci.image.manifest.v1+json"}
		scanner := &scan.Static{DBVersion: "db-1", Vulnerabilities: testFindings}

		open := func() (*sqldb.DB, *jobs.Runner, *scan.Service, func()) {
			db, err := openDB()
			require.NoError(t, err)
			ps, err := project.NewStore(ctx, db)
			require.NoError(t, err)
			runner, ws, pool := newRunner(t, db)
			// No registry: the static scanner reads nothing, so give it a
			// transport that is never used.
			svc, err := scan.NewService(ctx, db, scan.WithQueue(runner), scan.WithProjects(ps),
				scan.WithTransport(unusedTransport{}), scan.WithScanner("static", scanner))
			require.NoError(t, err)
			require.NoError(t, svc.Register(ws))
			if _, err := ps.Get(ctx, "p"); err != nil {
				_, err = ps.Create(ctx, project.Project{Name: "p"})
				require.NoError(t, err)
			}
			return db, runner, svc, func() { shutdown(svc, runner, pool, db) }
		}

		// Process 1 queues the scan and stops without working it.
		_, _, svc, closeAll := open()
		task, err := svc.ScanArtifact(ctx, art, scan.TriggerManual)
		require.NoError(t, err)
		require.Equal(t, scan.StatusPending, task.Status)
		closeAll()
		require.Empty(t, scanner.Calls())

		// Process 2 works it.
		_, runner, svc2, closeAll := open()
		svc = svc2
		defer closeAll()
		require.NoError(t, runner.Start(ctx))
		done := waitTask(t, svc, d.String(), scan.KindVulnerability, scan.StatusSuccess)
		require.Equal(t, task.ID, done.ID)
		r, info, err := svc.Report(ctx, d.String())
		require.NoError(t, err)
		require.Len(t, r.Vulnerabilities, 3)
		require.Equal(t, "db-1", info.DBVersion)
		log, err := svc.TaskLog(ctx, task.ID)
		require.NoError(t, err)
		require.Contains(t, log, "done: 3 vulnerabilities")
	})
}

type unusedTransport struct{}

func (unusedTransport) RoundTrip(*http.Request) (*http.Response, error) {
	return nil, errors.New("unused")
}
