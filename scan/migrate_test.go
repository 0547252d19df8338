package scan

import (
	"context"
	"io/fs"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
)

// Tasks in progress twice for one artifact (earlier versions raced into
// that) are stopped by migration 0003, all but the newest, before it
// makes such pairs impossible.
func TestActiveTasksMigrationStopsDuplicates(t *testing.T) {
	OnEngines(t, func(t *testing.T) {
		ctx := context.Background()
		db := OpenDB(t)
		dir := "migrations/" + string(db.Dialect())
		before := fstest.MapFS{}
		for _, name := range []string{"0001_scan.sql", "0002_project_ids.sql"} {
			b, err := fs.ReadFile(migrations, dir+"/"+name)
			require.NoError(t, err)
			before[name] = &fstest.MapFile{Data: b}
		}
		require.NoError(t, db.Migrate(ctx, "scan", before))
		require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
			for _, status := range []string{"Running", "Pending", "Success", "Pending"} {
				if _, err := tx.Exec(ctx, `INSERT INTO scan_tasks (kind, repository, digest, media_type, scanner, trigger, status, created_at)
					VALUES ('vulnerability', 'p/a', 'sha256:d', '', 'builtin', 'manual', ?, 1)`, status); err != nil {
					return err
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO scan_tasks (kind, repository, digest, media_type, scanner, trigger, status, created_at)
				VALUES ('vulnerability', 'q/a', 'sha256:d', '', 'builtin', 'manual', 'Running', 1)`)
			return err
		}))

		st, err := newStore(ctx, db, time.Now)
		require.NoError(t, err)
		var got []string
		for id := int64(1); id <= 5; id++ {
			tk, err := st.task(ctx, id)
			require.NoError(t, err)
			got = append(got, string(tk.Status))
			if tk.Status == StatusStopped {
				assert.NotZero(t, tk.EndedAt)
			}
		}
		assert.Equal(t, []string{"Stopped", "Stopped", "Success", "Pending", "Running"}, got,
			"the newest of p/a stays, as does q/a's (another repository)")
		_, created, err := st.startTask(ctx, Task{Kind: KindVulnerability, Artifact: Artifact{Repository: "p/a", Digest: "sha256:d"}})
		require.NoError(t, err)
		assert.False(t, created, "joins task 4")
	})
}
