package sqldb

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openFile(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "test.db")
	db, err := OpenSQLite(t.Context(), path)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db, path
}

func TestMigrateAppliesEachVersionOnce(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, open func() *DB) {
		ctx := t.Context()
		require.NoError(t, db.MigrateDialect(ctx, "test", twoMigrations))
		require.NoError(t, db.MigrateDialect(ctx, "test", twoMigrations), "a second run is a no-op")

		require.NoError(t, db.Write(ctx, func(tx *Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO items (name, size) VALUES (?, ?)`, "a", 3)
			return err
		}))
		var versions int
		require.NoError(t, db.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE component = ?`, "test").Scan(&versions))
		assert.Equal(t, 2, versions)

		// Reopening keeps both data and the recorded versions.
		require.NoError(t, db.Close())
		db2 := open()
		require.NoError(t, db2.MigrateDialect(ctx, "test", twoMigrations))
		var size int
		require.NoError(t, db2.QueryRow(ctx, `SELECT size FROM items WHERE name = ?`, "a").Scan(&size))
		assert.Equal(t, 3, size)
	})
}

func TestMigrateRejectsBadFilesAndRollsBack(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, _ func() *DB) {
		ctx := t.Context()
		err := db.Migrate(ctx, "x", fstest.MapFS{"1-bad.sql": {Data: []byte("SELECT 1;")}})
		assert.ErrorContains(t, err, "NNNN_description.sql")

		err = db.Migrate(ctx, "x", fstest.MapFS{"0001_a.sql": {}, "a/0001_b.sql": {}})
		assert.ErrorContains(t, err, "share version 1")

		broken := fstest.MapFS{"0001_t.sql": {Data: []byte("CREATE TABLE t (a INT);\nCREATE TABLE nonsense (;\n")}}
		require.Error(t, db.Migrate(ctx, "broken", broken))
		assert.False(t, tableExists(t, db, "t"), "a failed migration leaves nothing behind")
		var n int
		require.NoError(t, db.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE component = 'broken'`).Scan(&n))
		assert.Zero(t, n, "nor records its version")
	})
}

// A binary older than the schema refuses it instead of running on tables
// it does not know (a rolled-back upgrade).
func TestMigrateRefusesANewerSchema(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, _ func() *DB) {
		ctx := t.Context()
		require.NoError(t, db.MigrateDialect(ctx, "test", twoMigrations))
		older := fstest.MapFS{"0001_items.sql": {Data: []byte("CREATE TABLE other_items (a INT);\n")}}
		err := db.Migrate(ctx, "test", older)
		require.ErrorIs(t, err, ErrSchemaNewer)
		assert.ErrorContains(t, err, "test is at version 2, this binary knows up to 1")
		assert.NoError(t, db.Migrate(ctx, "other", older), "components are versioned apart")
	})
}

// Several processes starting at once (the nodes of a cluster) migrate the
// same database: each version is applied once, and none of them fails.
func TestConcurrentMigrators(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, open func() *DB) {
		ctx := t.Context()
		nodes := []*DB{db, open(), open(), open()}
		var wg sync.WaitGroup
		errs := make([]error, len(nodes))
		for i, node := range nodes {
			wg.Go(func() { errs[i] = node.MigrateDialect(ctx, "test", twoMigrations) })
		}
		wg.Wait()
		for _, err := range errs {
			require.NoError(t, err)
		}
		var versions int
		require.NoError(t, db.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE component = 'test'`).Scan(&versions))
		assert.Equal(t, 2, versions)
	})
}

func TestWriteRollsBackOnError(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, _ func() *DB) {
		ctx := t.Context()
		require.NoError(t, db.MigrateDialect(ctx, "test", twoMigrations))
		boom := errors.New("boom")
		calls := 0
		err := db.Write(ctx, func(tx *Tx) error {
			calls++
			if _, err := tx.Exec(ctx, `INSERT INTO items (name) VALUES (?)`, "gone"); err != nil {
				return err
			}
			return boom
		})
		require.ErrorIs(t, err, boom)
		assert.Equal(t, 1, calls, "an error that is not a deadlock is not retried")
		var n int
		require.NoError(t, db.QueryRow(ctx, `SELECT COUNT(*) FROM items`).Scan(&n))
		assert.Zero(t, n)
	})
}

// Concurrent writers never fail (SQLITE_BUSY, deadlocks), and readers see
// every committed row.
func TestConcurrentWritesAndReads(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, _ func() *DB) {
		ctx := t.Context()
		require.NoError(t, db.MigrateDialect(ctx, "test", twoMigrations))
		const writers, each = 8, 25
		var wg sync.WaitGroup
		errs := make(chan error, writers*each+writers)
		for w := range writers {
			wg.Add(2)
			go func() {
				defer wg.Done()
				for i := range each {
					errs <- db.Write(ctx, func(tx *Tx) error {
						_, err := tx.Exec(ctx, `INSERT INTO items (name, size) VALUES (?, ?)`, "w", w*1000+i)
						return err
					})
				}
			}()
			go func() {
				defer wg.Done()
				var n int
				errs <- db.QueryRow(ctx, `SELECT COUNT(*) FROM items`).Scan(&n)
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		var n int
		require.NoError(t, db.QueryRow(ctx, `SELECT COUNT(*) FROM items`).Scan(&n))
		assert.Equal(t, writers*each, n)
	})
}

// Read, change, write back: with ForUpdate no concurrent writer's change
// is lost, on either engine.
func TestForUpdateKeepsEveryIncrement(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, open func() *DB) {
		ctx := t.Context()
		require.NoError(t, db.MigrateDialect(ctx, "test", twoMigrations))
		require.NoError(t, db.Write(ctx, func(tx *Tx) error {
			_, err := tx.Exec(ctx, `INSERT INTO items (name, size) VALUES ('counter', 0)`)
			return err
		}))
		const writers, each = 6, 15
		var wg sync.WaitGroup
		errs := make(chan error, writers*each)
		for w := range writers {
			node := db
			if w%2 == 1 {
				node = open() // another process: no shared mutex
			}
			wg.Go(func() {
				for range each {
					errs <- node.Write(ctx, func(tx *Tx) error {
						var size int
						if err := tx.QueryRow(ctx, `SELECT size FROM items WHERE name = 'counter'`+tx.ForUpdate()).Scan(&size); err != nil {
							return err
						}
						_, err := tx.Exec(ctx, `UPDATE items SET size = ? WHERE name = 'counter'`, size+1)
						return err
					})
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
		var size int
		require.NoError(t, db.QueryRow(ctx, `SELECT size FROM items WHERE name = 'counter'`).Scan(&size))
		assert.Equal(t, writers*each, size)
	})
}

func TestReaderIsReadOnly(t *testing.T) {
	db, _ := openFile(t)
	ctx := t.Context()
	require.NoError(t, db.MigrateDialect(ctx, "test", twoMigrations))
	rows, err := db.Query(ctx, `INSERT INTO items (name) VALUES ('x') RETURNING id`)
	if err == nil {
		for rows.Next() {
		}
		err = rows.Err()
		rows.Close()
	}
	assert.Error(t, err, "reads go to a query_only pool")
}

func TestMemoryDatabasesArePrivate(t *testing.T) {
	ctx := context.Background()
	a, err := OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	defer a.Close()
	b, err := OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, a.MigrateDialect(ctx, "test", twoMigrations))
	require.Error(t, b.QueryRow(ctx, `SELECT COUNT(*) FROM items`).Scan(new(int)), "b does not see a's tables")
	assert.True(t, a.Exclusive())
	assert.Equal(t, SQLite, a.Dialect())
}

func TestRebind(t *testing.T) {
	pg := &DB{dialect: Postgres}
	assert.Equal(t, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3) AND d = '?'`,
		pg.rebind(`SELECT a FROM t WHERE b = ? AND c IN (?, ?) AND d = '?'`))
	lite := &DB{dialect: SQLite}
	assert.Equal(t, `SELECT ? FROM t`, lite.rebind(`SELECT ? FROM t`))
}

func TestPreparedStatementCacheIsBounded(t *testing.T) {
	db, _ := openFile(t)
	ctx := t.Context()
	for i := range maxPreparedStatements + 10 {
		var n int
		require.NoError(t, db.QueryRow(ctx, `SELECT ? + `+strconv.Itoa(i), 1).Scan(&n))
	}
	assert.Equal(t, int32(maxPreparedStatements), db.reads.count.Load())
}

func TestNewPoolSharesTheDatabase(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, _ func() *DB) {
		ctx := t.Context()
		require.NoError(t, db.MigrateDialect(ctx, "test", twoMigrations))
		pool, err := db.NewPool(ctx, 1)
		require.NoError(t, err)
		defer pool.Close()
		_, err = pool.ExecContext(ctx, `INSERT INTO items (name) VALUES ('from-pool')`)
		require.NoError(t, err)
		var n int
		require.NoError(t, db.QueryRow(ctx, `SELECT COUNT(*) FROM items WHERE name = 'from-pool'`).Scan(&n))
		assert.Equal(t, 1, n)
	})

	mem, err := OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	defer mem.Close()
	_, err = mem.NewPool(t.Context(), 1)
	assert.Error(t, err)
}

func TestMigrateDialect(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, _ func() *DB) {
		ctx := t.Context()
		other := map[Dialect]Dialect{SQLite: Postgres, Postgres: SQLite}[db.Dialect()]
		layout := fstest.MapFS{
			"migrations/" + string(db.Dialect()) + "/0001_t.sql": {Data: []byte("CREATE TABLE t (a INT);\n")},
			"migrations/" + string(other) + "/0001_t.sql":        {Data: []byte("CREATE TABLE wrong (a INT);\n")},
		}
		require.NoError(t, db.MigrateDialect(ctx, "layout", layout))
		assert.True(t, tableExists(t, db, "t"))
		assert.False(t, tableExists(t, db, "wrong"), "only the database's dialect is applied")
		err := db.MigrateDialect(ctx, "other", fstest.MapFS{"migrations/" + string(other) + "/0001_t.sql": {Data: []byte("SELECT 1;\n")}})
		assert.ErrorContains(t, err, "no migrations for the "+string(db.Dialect())+" dialect")
	})
}

// A database file is opened with the settings OpenSQLite documents, on
// every connection (the pool's DSN carries them).
func TestSQLiteSettings(t *testing.T) {
	ctx := t.Context()
	db, err := OpenSQLite(ctx, filepath.Join(t.TempDir(), "berth.db"))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	pool, err := db.NewPool(ctx, 1)
	require.NoError(t, err)
	t.Cleanup(func() { pool.Close() })
	for pragma, want := range map[string]string{"journal_mode": "wal", "synchronous": "2", "mmap_size": "1073741824",
		"wal_autocheckpoint": "100000", "journal_size_limit": "67108864", "foreign_keys": "1"} {
		var got string
		require.NoError(t, pool.QueryRowContext(ctx, "PRAGMA "+pragma).Scan(&got), pragma)
		assert.Equal(t, want, got, pragma)
	}
	var got string
	require.NoError(t, db.QueryRow(ctx, "PRAGMA mmap_size").Scan(&got))
	assert.Equal(t, "1073741824", got, "readers too")
}

// Commits leave their pages in the write-ahead log; the background
// checkpointer folds them into the database file within seconds.
func TestCheckpointerFoldsTheLog(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "berth.db")
	db, err := OpenSQLite(ctx, path)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	require.NoError(t, db.Write(ctx, func(tx *Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE big (v BLOB)`); err != nil {
			return err
		}
		for range 256 {
			if _, err := tx.Exec(ctx, `INSERT INTO big (v) VALUES (randomblob(8192))`); err != nil {
				return err
			}
		}
		return nil
	}))
	size := func() int64 {
		fi, err := os.Stat(path)
		require.NoError(t, err)
		return fi.Size()
	}
	require.Eventually(t, func() bool { return size() > 2<<20 }, 10*time.Second, 50*time.Millisecond,
		"2 MiB committed reach the database file (it holds %d bytes)", size())
}
