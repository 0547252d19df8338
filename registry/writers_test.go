package registry

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// Races between writers. On SQLite writers take turns; on PostgreSQL they
// run side by side at READ COMMITTED, and these are the races a missing
// lock there would lose.

// requireConsistent asserts what Check finds and that the project's usage
// is its recount.
func (tr *testRegistry) requireConsistent(projects ...string) {
	tr.t.Helper()
	rep, err := tr.rg.Check(tr.t.Context())
	require.NoError(tr.t, err)
	require.True(tr.t, rep.OK(false), "%v %v", rep.Problems, rep.Missing)
	for _, p := range projects {
		require.Equal(tr.t, tr.recount(p), tr.usage(p), "usage of %s", p)
	}
}

// Linking one blob into several repositories of a project at once counts
// it once; unlinking it from all of them at once takes it off once.
func TestConcurrentLinksCountOnce(t *testing.T) { onEveryEngine(t, testConcurrentLinksCountOnce) }

func testConcurrentLinksCountOnce(t *testing.T) {
	tr := newTestRegistry(t)
	const repos = 8
	blob := randomBytes(1000)
	d := digest.FromBytes(blob)
	var wg sync.WaitGroup
	for i := range repos {
		wg.Go(func() {
			r := tr.do(http.MethodPost, "/v2/p/r"+strconv.Itoa(i)+"/blobs/uploads/?digest="+d.String(), blob, nil)
			assert.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
		})
	}
	wg.Wait()
	assert.Equal(t, int64(len(blob)), tr.usage("p"))
	assert.Equal(t, tr.recount("p"), tr.usage("p"))

	for i := range repos {
		wg.Go(func() {
			r := tr.do(http.MethodDelete, "/v2/p/r"+strconv.Itoa(i)+"/blobs/"+d.String(), nil, nil)
			assert.Equal(t, http.StatusAccepted, r.Status, "body: %s", r.Body)
		})
	}
	wg.Wait()
	assert.Zero(t, tr.usage("p"))
	assert.Zero(t, tr.recount("p"))
}

// A manifest deleted from the last repository of one project while it is
// pushed into a repository of another keeps its row and references: the
// push is served afterwards, and GC keeps its blobs.
func TestManifestDeleteRacingAPushElsewhere(t *testing.T) {
	onEveryEngine(t, testManifestDeleteRacingAPushElsewhere)
}

func testManifestDeleteRacingAPushElsewhere(t *testing.T) {
	tr := newTestRegistry(t)
	for range 10 {
		img := tr.pushImage("p/a", "v1", 1)
		tr.pushImageBlobs("q/b", img)
		var wg sync.WaitGroup
		wg.Go(func() {
			assert.NoError(t, tr.rg.DeleteArtifact(t.Context(), "p/a", img.Digest))
		})
		wg.Go(func() {
			r := tr.putManifest("q/b", "v1", MediaTypeOCIManifest, img.Manifest)
			assert.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
		})
		wg.Wait()
		r := tr.getManifest("q/b", "v1")
		require.Equal(t, http.StatusOK, r.Status, "body: %s", r.Body)
		require.Equal(t, img.Manifest, r.Body)
		tr.requireNoManifest("p/a", img.Digest.String())
	}
	tr.requireConsistent("p", "q")
	tr.advance(3 * time.Hour)
	tr.gc(GCOptions{DeleteUntagged: true})
	tr.requireConsistent("p", "q")
}

// A manifest push racing a garbage collection run that judges its old,
// unreferenced blobs either keeps them or fails with
// MANIFEST_BLOB_UNKNOWN: a pushed manifest never points at removed bytes.
func TestGCRacingConcurrentPushes(t *testing.T) { onEveryEngine(t, testGCRacingConcurrentPushes) }

func testGCRacingConcurrentPushes(t *testing.T) {
	tr := newTestRegistry(t)
	for i := range 10 {
		img := randomImage(t, 2)
		tr.pushImageBlobs("lib/app", img)
		tr.advance(3 * time.Hour) // the links are past the grace window
		var wg sync.WaitGroup
		var r *response
		wg.Go(func() {
			_, err := tr.rg.CollectGarbage(t.Context(), GCOptions{})
			assert.NoError(t, err)
		})
		wg.Go(func() { r = tr.putManifest("lib/app", "v"+strconv.Itoa(i), MediaTypeOCIManifest, img.Manifest) })
		wg.Wait()
		if r.Status == http.StatusCreated {
			for _, b := range append([][]byte{img.Config}, img.Layers...) {
				require.True(t, tr.blobStored(digest.FromBytes(b)), "a pushed manifest's blob stays")
			}
		} else {
			requireError(t, r, http.StatusBadRequest, CodeManifestBlobUnknown)
		}
		tr.requireConsistent("lib")
	}
}

// A manifest tagged while a run deletes untagged manifests either gets its
// tag and stays, or is deleted first and the push stores it again.
func TestGCUntaggedRacingATag(t *testing.T) { onEveryEngine(t, testGCUntaggedRacingATag) }

func testGCUntaggedRacingATag(t *testing.T) {
	tr := newTestRegistry(t)
	for i := range 10 {
		img := tr.pushImage("lib/app", "", 1) // untagged
		tr.advance(3 * time.Hour)
		tag := "v" + strconv.Itoa(i)
		var wg sync.WaitGroup
		wg.Go(func() {
			_, err := tr.rg.CollectGarbage(t.Context(), GCOptions{DeleteUntagged: true, GraceWindow: time.Hour})
			assert.NoError(t, err)
		})
		wg.Go(func() {
			r := tr.putManifest("lib/app", tag, MediaTypeOCIManifest, img.Manifest)
			// The run may remove the blobs first: the client uploads again.
			if r.Status != http.StatusCreated {
				assert.Equal(t, http.StatusBadRequest, r.Status, "body: %s", r.Body)
				assert.Contains(t, string(r.Body), CodeManifestBlobUnknown)
			}
		})
		wg.Wait()
		if r := tr.getManifest("lib/app", tag); r.Status == http.StatusOK {
			assert.Equal(t, img.Manifest, r.Body)
		}
		tr.requireConsistent("lib")
	}
}

// Write runs a transaction again when PostgreSQL aborts it for a
// deadlock; a run's counts are those of the attempt that committed.
func TestGCCountsOnceWhenRetried(t *testing.T) {
	ctx := t.Context()
	// PostgreSQL aborts the waiter whose deadlock_timeout expires first
	// with the cycle closed. The run's sessions check after 2 s and the
	// other transaction's only after a minute, so the run is the one
	// aborted however slow the machine (the other closes the cycle within
	// the run's 2 s).
	db, err := sqldb.OpenPostgres(ctx, pg.Database(t)+"&deadlock_timeout=2s")
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	rg, err := New(ctx, memory.New(), db, WithLogger(slog.New(slog.NewTextHandler(testLog(t), nil))))
	require.NoError(t, err)
	srv := httptest.NewServer(rg)
	t.Cleanup(srv.Close)
	tr := &testRegistry{t: t, rg: rg, srv: srv}
	a, b := tr.pushBlob("lib/app", randomBytes(10)).String(), tr.pushBlob("lib/app", randomBytes(10)).String()
	a, b = min(a, b), max(a, b) // the run judges a, then b
	pool, err := db.NewPool(ctx, 2)
	require.NoError(t, err)
	t.Cleanup(func() { _ = pool.Close() })
	// Another transaction holds b's queue entry and, once the run
	// holds a's and waits for b's, asks for a's: a deadlock, which
	// the run is told of.
	other, err := pool.BeginTx(ctx, nil)
	require.NoError(t, err)
	defer func() { _ = other.Rollback() }()
	_, err = other.ExecContext(ctx, `SET LOCAL deadlock_timeout = '60s'`)
	require.NoError(t, err)
	lockEntry := `SELECT deleting FROM registry_gc_blobs WHERE digest = $1 FOR UPDATE`
	_, err = other.ExecContext(ctx, lockEntry, b)
	require.NoError(t, err)
	done := make(chan GCResult)
	go func() {
		res, err := tr.rg.CollectGarbage(ctx, GCOptions{})
		assert.NoError(t, err)
		done <- res
	}()
	require.Eventually(t, func() bool {
		var waiting int
		err := pool.QueryRowContext(ctx, `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&waiting)
		return err == nil && waiting > 0
	}, 10*time.Second, 10*time.Millisecond, "the run waits for b")
	_, err = other.ExecContext(ctx, lockEntry, a)
	require.NoError(t, err, "the run's transaction was the one aborted")
	require.NoError(t, other.Commit())
	assert.Equal(t, GCResult{Deferred: 2}, <-done, "both fresh, each counted once")
}
