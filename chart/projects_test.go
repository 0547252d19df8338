package chart

import (
	"bytes"
	"context"
	"io/fs"
	"testing"
	"testing/fstest"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// fakeProjects maps names to ids; a test deletes and re-creates a
// project by giving its name another id.
type fakeProjects map[string]int64

func (f fakeProjects) ProjectID(_ context.Context, name string) (int64, bool, error) {
	id, ok := f[name]
	return id, ok, nil
}

// A project deleted and created again under its name (a new id) sees none
// of the old project's charts, not even through the cached index.
func TestChartsFollowProjectIDs(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		db := openDB(t)
		projects := fakeProjects{"team": 1}
		r, err := New(ctx, memory.New(), db, WithProjects(projects))
		require.NoError(t, err)

		_, err = r.Upload(ctx, "team", bytes.NewReader(makeChart(t, "app", "1.0.0")), nil, false)
		require.NoError(t, err)
		idx, err := r.Index(ctx, "team")
		require.NoError(t, err)
		assert.Contains(t, string(idx), "app-1.0.0.tgz")

		_, err = r.Upload(ctx, "ghost", bytes.NewReader(makeChart(t, "app", "1.0.0")), nil, false)
		assert.ErrorIs(t, err, ErrNoProject, "no upload into a project that does not exist")
		_, err = r.List(ctx, "ghost")
		assert.ErrorIs(t, err, ErrNoProject)

		var n int
		require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) (err error) {
			n, err = r.ProjectVersions(ctx, tx, 1)
			return err
		}))
		assert.Equal(t, 1, n)

		projects["team"] = 2 // deleted (rows left behind on purpose) and re-created
		idx, err = r.Index(ctx, "team")
		require.NoError(t, err)
		assert.NotContains(t, string(idx), "app-1.0.0.tgz")
		_, err = r.Get(ctx, "team", "app", "1.0.0")
		assert.ErrorIs(t, err, ErrNotFound)

		require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error { return r.ForgetProject(ctx, tx, 1) }))
		require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) (err error) {
			n, err = r.ProjectVersions(ctx, tx, 1)
			return err
		}))
		assert.Zero(t, n)
	})
}

// Versions stored before charts were keyed by project id are kept (their
// blobs stay referenced) but no longer served.
func TestLegacyChartRowsKeptUnserved(t *testing.T) {
	onEngines(t, func(t *testing.T) {
		ctx := context.Background()
		db := openDB(t)
		first, err := fs.ReadFile(migrations, "migrations/"+string(db.Dialect())+"/0001_chart.sql")
		require.NoError(t, err)
		require.NoError(t, db.Migrate(ctx, "chart", fstest.MapFS{"0001_chart.sql": {Data: first}}))
		require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO chart_versions (project, name, version, created, digest, size)
			VALUES ('team', 'app', '1.0.0', 1, 'aaaa', 4)`)
			return err
		}))
		r, err := New(ctx, memory.New(), db)
		require.NoError(t, err)
		all, err := r.List(ctx, "team")
		require.NoError(t, err)
		assert.Empty(t, all)
		var refs []digest.Digest
		require.NoError(t, r.References(ctx, func(d digest.Digest) error { refs = append(refs, d); return nil }))
		assert.Equal(t, []digest.Digest{"sha256:aaaa"}, refs)
	})
}
