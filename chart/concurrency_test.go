package chart

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// variant is a distinct archive of app 1.0.0 (its description differs).
func variant(t testing.TB, i int) []byte {
	return tgz(t, entry{name: "app/Chart.yaml", body: chartYAML("app", "1.0.0") + fmt.Sprintf("kubeVersion: '>=1.%d.0'\n", i)})
}

// Uploads of one new version racing each other: exactly one is stored
// without force, the rest are refused. Before the generation row was
// locked first, on PostgreSQL each of them read "absent" and stored its
// archive over the others', all reporting success.
func TestConcurrentUploadsOfOneVersion(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		gc := &fakeCollector{held: map[digest.Digest]bool{}}
		r, _ := newRepo(t, WithBlobCoordinator(gc))
		const n = 8
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Go(func() { _, errs[i] = r.Upload(ctx, "p", bytes.NewReader(variant(t, i)), nil, false) })
		}
		wg.Wait()
		won := 0
		for _, err := range errs {
			if err == nil {
				won++
			} else {
				require.ErrorIs(t, err, ErrExists)
			}
		}
		assert.Equal(t, 1, won)
		assert.Empty(t, gc.released, "nothing was replaced")

		// Forced uploads racing: each replaces the one before it, and
		// lets exactly that one's archive go.
		for i := range n {
			wg.Go(func() {
				_, err := r.Upload(ctx, "p", bytes.NewReader(variant(t, n+i)), nil, true)
				assert.NoError(t, err)
			})
		}
		wg.Wait()
		v, err := r.Get(ctx, "p", "app", "1.0.0")
		require.NoError(t, err)
		assert.Len(t, gc.released, n, "one release per replacement")
		assert.NotContains(t, gc.released, digest.NewDigestFromEncoded(digest.SHA256, v.Digest), "the stored archive is not released")
		seen := map[digest.Digest]bool{}
		for _, d := range gc.released {
			assert.False(t, seen[d], "%s released twice", d)
			seen[d] = true
		}
	})
}

// A project's deletion (ProjectVersions, then ForgetProject, in one
// transaction) racing uploads into it: either the deletion is refused
// because a version landed first, or the project ends with no version.
// Without the generation lock, on PostgreSQL an upload could commit
// between the count and the commit and leave a version in a deleted
// project.
func TestProjectDeletionRacesUploads(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		db := openDB(t)
		projects := fakeProjects{}
		r, err := New(ctx, memory.New(), db, WithProjects(projects))
		require.NoError(t, err)
		archive := makeChart(t, "app", "1.0.0")
		for round := range 10 {
			id := int64(round + 1)
			name := fmt.Sprintf("p%d", round)
			projects[name] = id // read-only from here on in this round
			var deleted bool
			var wg sync.WaitGroup
			wg.Go(func() {
				err := db.Write(ctx, func(tx *sqldb.Tx) error {
					deleted = false
					n, err := r.ProjectVersions(ctx, tx, id)
					if err != nil || n > 0 {
						return err
					}
					deleted = true
					return r.ForgetProject(ctx, tx, id)
				})
				assert.NoError(t, err)
			})
			for range 3 {
				wg.Go(func() {
					_, err := r.Upload(ctx, name, bytes.NewReader(archive), nil, true)
					if err != nil {
						assert.ErrorIs(t, err, ErrNoProject)
					}
				})
			}
			wg.Wait()
			var n int
			require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) (err error) {
				n, err = r.ProjectVersions(ctx, tx, id)
				return err
			}))
			if deleted {
				assert.Zero(t, n, "round %d: a version was left in the deleted project", round)
				_, err := r.Upload(ctx, name, bytes.NewReader(archive), nil, true)
				assert.ErrorIs(t, err, ErrNoProject, "no upload into a forgotten project id")
			} else {
				assert.Equal(t, 1, n)
			}
		}
	})
}

// Two Repos on one database stand for two processes. A project forgotten
// and used again under its name (without WithProjects, the Repo numbers
// names itself) must not be served from the other Repo's cached index.
// Before ForgetProject kept the generation, the name kept its number and
// the generation restarted at 1, the value the other Repo had cached.
func TestIndexCacheAcrossRepos(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		db := openDB(t)
		blobs := memory.New()
		a, err := New(ctx, blobs, db)
		require.NoError(t, err)
		b, err := New(ctx, blobs, db)
		require.NoError(t, err)

		_, err = a.Upload(ctx, "p", bytes.NewReader(makeChart(t, "old", "1.0.0")), nil, false)
		require.NoError(t, err)
		idx, err := a.Index(ctx, "p")
		require.NoError(t, err)
		require.Contains(t, string(idx), "old-1.0.0.tgz")

		id, ok, err := b.projectID(ctx, "p", false)
		require.NoError(t, err)
		require.True(t, ok)
		require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error { return b.ForgetProject(ctx, tx, id) }))
		_, err = b.Upload(ctx, "p", bytes.NewReader(makeChart(t, "new", "1.0.0")), nil, false)
		require.NoError(t, err)

		for _, r := range []*Repo{a, b} {
			idx, err := r.Index(ctx, "p")
			require.NoError(t, err)
			assert.NotContains(t, string(idx), "old-1.0.0.tgz")
			assert.Contains(t, string(idx), "new-1.0.0.tgz")
		}
		// A deletion in one is seen by the other.
		require.NoError(t, a.Delete(ctx, "p", "new", "1.0.0"))
		idx, err = b.Index(ctx, "p")
		require.NoError(t, err)
		assert.NotContains(t, string(idx), "new-1.0.0.tgz")
		_, err = a.Get(ctx, "p", "new", "1.0.0")
		assert.True(t, errors.Is(err, ErrNotFound))
	})
}
