package registry

import (
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// A store from before the garbage queues and the usage counts gets both
// from its rows when it migrates, alike on each engine.
func TestMigrationsFillQueuesAndUsage(t *testing.T) {
	for _, e := range []engine{sqliteMemory, postgres} {
		t.Run(string(e), func(t *testing.T) {
			ctx := t.Context()
			db := openDB(t, e)
			old := fstest.MapFS{}
			for _, name := range []string{"0001_registry.sql", "0002_upload_quotas.sql"} {
				body, err := migrations.ReadFile("migrations/" + string(db.Dialect()) + "/" + name)
				require.NoError(t, err)
				old[name] = &fstest.MapFile{Data: body}
			}
			require.NoError(t, db.Migrate(ctx, "registry", old))
			require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
				for _, q := range []struct {
					sql  string
					args []any
				}{
					{`INSERT INTO registry_repositories (name, created_at) VALUES ('p/a', 1), ('p/b', 1), ('q', 1)`, nil},
					{`INSERT INTO registry_manifests (digest, media_type, size, content, created_at) VALUES (?, 'm', 100, ?, 1), (?, 'm', 50, ?, 1)`,
						[]any{"sha256:m1", []byte("one"), "sha256:m2", []byte("two")}},
					{`INSERT INTO registry_manifest_refs (parent, child, kind) VALUES ('sha256:m1', 'sha256:b1', 'blob')`, nil},
					{`INSERT INTO registry_repo_manifests (repo, digest, created_at) VALUES ('p/a', 'sha256:m1', 1), ('p/b', 'sha256:m1', 1), ('q', 'sha256:m2', 1)`, nil},
					{`INSERT INTO registry_tags (repo, name, digest, updated_at) VALUES ('p/a', 'v1', 'sha256:m1', 1)`, nil},
					{`INSERT INTO registry_repo_blobs (repo, digest, size, created_at) VALUES
						('p/a', 'sha256:b1', 10, 1), ('p/b', 'sha256:b1', 10, 2), ('p/a', 'sha256:b2', 20, 3), ('q', 'sha256:b3', 30, 4)`, nil},
				} {
					if _, err := tx.Exec(ctx, q.sql, q.args...); err != nil {
						return err
					}
				}
				return nil
			}))
			rg, err := New(ctx, memory.New(), db)
			require.NoError(t, err)
			blobs, untagged, err := rg.GarbageQueue(ctx)
			require.NoError(t, err)
			assert.Equal(t, 2, blobs, "b2 and b3: no manifest references them")
			assert.Equal(t, 2, untagged, "m1 in p/b and m2 in q")
			for project, want := range map[string]int64{"p": 10 + 20 + 100, "q": 30 + 50} {
				used, err := rg.ProjectUsage(ctx, project)
				require.NoError(t, err)
				assert.Equal(t, want, used, project)
			}
		})
	}
}
