package registry

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

func TestIDs(t *testing.T) { onEveryEngine(t, testIDs) }

// Repositories, artifacts and tags get numeric ids that stay while they
// live, survive a tag's move, and are never given again after a delete.
func testIDs(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := t.Context()
	a := tr.pushImage("lib/app", "v1", 1)
	b := tr.pushImage("lib/app", "v2", 1)
	tr.pushImage("lib/other", "v1", 1)

	repos, _, err := tr.rg.ListRepositories(ctx, "lib/", core.Page{Limit: 10})
	require.NoError(t, err)
	require.Len(t, repos, 2)
	assert.Positive(t, repos[0].ID)
	assert.NotEqual(t, repos[0].ID, repos[1].ID)

	ga, err := tr.rg.GetArtifact(ctx, "lib/app", "v1")
	require.NoError(t, err)
	gb, err := tr.rg.GetArtifact(ctx, "lib/app", "v2")
	require.NoError(t, err)
	assert.Positive(t, ga.ID)
	assert.NotEqual(t, ga.ID, gb.ID)
	assert.Equal(t, repos[0].ID, ga.RepositoryID, "lib/app sorts first")
	require.Len(t, ga.TagTimes, 1)
	v1ID := ga.TagTimes[0].ID
	assert.Positive(t, v1ID)

	arts, _, err := tr.rg.ListArtifacts(ctx, "lib/app", core.Page{Limit: 10})
	require.NoError(t, err)
	for _, x := range arts {
		want := map[string]int64{a.Digest.String(): ga.ID, b.Digest.String(): gb.ID}[x.Digest.String()]
		assert.Equal(t, want, x.ID, "listing and get agree")
	}

	// A tag moved to another manifest keeps its id.
	tr.pushManifest("lib/app", "v1", MediaTypeOCIManifest, b.Manifest)
	gb2, err := tr.rg.GetArtifact(ctx, "lib/app", "v1")
	require.NoError(t, err)
	assert.Equal(t, gb.ID, gb2.ID)
	for _, tt := range gb2.TagTimes {
		if tt.Name == "v1" {
			assert.Equal(t, v1ID, tt.ID)
		}
	}

	// Deleted and pushed again: new ids, never the old ones.
	require.NoError(t, tr.rg.DeleteTag(ctx, "lib/app", "v1"))
	tr.pushManifest("lib/app", "v1", MediaTypeOCIManifest, b.Manifest)
	gb3, err := tr.rg.GetArtifact(ctx, "lib/app", "v1")
	require.NoError(t, err)
	for _, tt := range gb3.TagTimes {
		if tt.Name == "v1" {
			assert.Greater(t, tt.ID, v1ID)
		}
	}
	require.NoError(t, tr.rg.DeleteRepository(ctx, "lib/app"))
	again := tr.pushImage("lib/app", "v1", 1)
	_ = again
	repos2, _, err := tr.rg.ListRepositories(ctx, "lib/app", core.Page{Limit: 1})
	require.NoError(t, err)
	require.Len(t, repos2, 1)
	assert.Greater(t, repos2[0].ID, repos[1].ID, "a new id, above every earlier one")
	ga2, err := tr.rg.GetArtifact(ctx, "lib/app", "v1")
	require.NoError(t, err)
	assert.Greater(t, ga2.ID, gb.ID)
}

func TestRepositoryDescription(t *testing.T) { onEngines(t, testRepositoryDescription) }

func testRepositoryDescription(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := t.Context()
	tr.pushImage("lib/app", "v1", 1)
	require.NoError(t, tr.rg.SetRepositoryDescription(ctx, "lib/app", "the app"))
	repos, _, err := tr.rg.ListRepositories(ctx, "lib/app", core.Page{Limit: 1})
	require.NoError(t, err)
	assert.Equal(t, "the app", repos[0].Description)
	assert.ErrorIs(t, tr.rg.SetRepositoryDescription(ctx, "lib/nope", "x"), ErrNotFound)
	assert.ErrorIs(t, tr.rg.SetRepositoryDescription(ctx, "lib/app", string(make([]byte, MaxDescription+1))), core.ErrInvalid)
}

func TestFindRepositories(t *testing.T) { onEngines(t, testFindRepositories) }

func testFindRepositories(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := t.Context()
	tr.pushImage("b/zeta", "v1", 1)
	tr.pushImage("a/alpha", "v1", 1)
	tr.pushImage("c/beta", "v1", 1)
	tr.pushImage("a/zeta", "v1", 1) // newest

	names := func(q RepositoryQuery) []string {
		rs, total, err := tr.rg.FindRepositories(ctx, q, core.Page{Limit: 10})
		require.NoError(t, err)
		assert.Len(t, rs, total)
		var out []string
		for _, r := range rs {
			out = append(out, r.Name)
		}
		return out
	}
	assert.Equal(t, []string{"a/alpha", "a/zeta", "b/zeta", "c/beta"}, names(RepositoryQuery{}))
	assert.Equal(t, []string{"a/alpha", "a/zeta", "c/beta"}, names(RepositoryQuery{Prefixes: []string{"a/", "c/"}}))
	assert.Nil(t, names(RepositoryQuery{Prefixes: []string{}}))
	assert.Equal(t, []string{"a/zeta", "b/zeta"}, names(RepositoryQuery{Contains: "ZET"}))
	assert.Equal(t, []string{"a/zeta", "c/beta", "a/alpha", "b/zeta"}, names(RepositoryQuery{Order: ByCreated, Desc: true}))
	assert.Equal(t, []string{"c/beta", "b/zeta", "a/zeta", "a/alpha"}, names(RepositoryQuery{Desc: true}))
	assert.Equal(t, []string{"b/zeta", "a/alpha", "c/beta", "a/zeta"}, names(RepositoryQuery{Order: ByUpdated}))
	assert.Equal(t, []string{}, append([]string{}, names(RepositoryQuery{Contains: "%"})...), "LIKE wildcards match themselves")
	assert.Equal(t, []string{"c/beta", "a/zeta"}, names(RepositoryQuery{Names: []string{"a/zeta", "c/beta", "x/none"}, Desc: true}))
	assert.Nil(t, names(RepositoryQuery{Names: []string{}}))

	arts, total, err := tr.rg.ListArtifactsUnder(ctx, "a/", core.Page{Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	require.Len(t, arts, 2)
	assert.Equal(t, "a/zeta", arts[0].Repository, "newest first")
	assert.Equal(t, []string{"v1"}, arts[0].Tags)
}

// A store from before ids gets them on upgrade, oldest first, and its
// Docker images their config media type as artifact type.
func TestMigrationBackfillsIDs(t *testing.T) {
	for _, e := range []engine{sqliteMemory, postgres} {
		t.Run(string(e), func(t *testing.T) {
			ctx := t.Context()
			db := openDB(t, e)
			old := fstest.MapFS{}
			for _, name := range []string{"0001_registry.sql", "0002_upload_quotas.sql", "0003_gc.sql", "0004_pull_times.sql", "0005_project_usage.sql"} {
				body, err := migrations.ReadFile("migrations/" + string(db.Dialect()) + "/" + name)
				require.NoError(t, err)
				old[name] = &fstest.MapFile{Data: body}
			}
			require.NoError(t, db.Migrate(ctx, "registry", old))
			require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
				for _, q := range []string{
					`INSERT INTO registry_repositories (name, created_at) VALUES ('p/b', 1), ('p/a', 2)`,
					`INSERT INTO registry_manifests (digest, media_type, size, content, created_at) VALUES ('sha256:m1', '` + MediaTypeOCIIndex + `', 3, '{"schemaVersion":2,"mediaType":"` + MediaTypeOCIIndex + `","manifests":[]}', 1)`,
					`INSERT INTO registry_repo_manifests (repo, digest, created_at) VALUES ('p/a', 'sha256:m1', 2), ('p/b', 'sha256:m1', 1)`,
					`INSERT INTO registry_tags (repo, name, digest, updated_at) VALUES ('p/a', 'v1', 'sha256:m1', 2)`,
					`INSERT INTO registry_manifests (digest, media_type, size, content, created_at) VALUES ('sha256:d1', '` + MediaTypeDockerManifest +
						`', 3, '{"schemaVersion":2,"mediaType":"` + MediaTypeDockerManifest + `","config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1,"digest":"sha256:c"},"layers":[]}', 1)`,
					`INSERT INTO registry_repo_manifests (repo, digest, created_at) VALUES ('p/b', 'sha256:d1', 3)`,
				} {
					if _, err := tx.Exec(ctx, q); err != nil {
						return err
					}
				}
				return nil
			}))
			rg, err := New(ctx, memory.New(), db)
			require.NoError(t, err)
			repos, _, err := rg.ListRepositories(ctx, "p/", core.Page{Limit: 10})
			require.NoError(t, err)
			require.Len(t, repos, 2)
			assert.Equal(t, int64(2), repos[0].ID, "p/a came second")
			assert.Equal(t, int64(1), repos[1].ID)
			a, err := rg.GetArtifact(ctx, "p/a", "v1")
			require.NoError(t, err)
			assert.Equal(t, int64(2), a.ID)
			assert.Equal(t, int64(2), a.RepositoryID)
			require.Len(t, a.TagTimes, 1)
			assert.Equal(t, int64(1), a.TagTimes[0].ID)
			d, err := rg.GetArtifact(ctx, "p/b", "sha256:d1")
			require.NoError(t, err)
			assert.Equal(t, "application/vnd.docker.container.image.v1+json", d.ArtifactType, "a Docker image's config type, read from its content")
			// New rows continue after the backfilled ones.
			require.NoError(t, rg.TagArtifact(ctx, "p/a", a.Digest, "v2"))
			a, err = rg.GetArtifact(ctx, "p/a", "v2")
			require.NoError(t, err)
			assert.Equal(t, []int64{1, 2}, []int64{a.TagTimes[0].ID, a.TagTimes[1].ID})
		})
	}
}
