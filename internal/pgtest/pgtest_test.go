package pgtest

import (
	"context"
	"database/sql"
	"os"
	"strconv"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func open(t *testing.T, url string) *sql.DB {
	t.Helper()
	cfg, err := pgx.ParseConfig(url)
	require.NoError(t, err)
	db := stdlib.OpenDB(*cfg)
	t.Cleanup(func() { db.Close() })
	return db
}

// A server runs as a user PostgreSQL accepts, with the settings tests
// rely on; each database is separate; Stop ends the server and removes
// its files.
func TestStartDatabaseStop(t *testing.T) {
	ctx := t.Context()
	s := Start(t)
	a, b := open(t, s.Database(t)), open(t, s.Database(t))

	_, err := a.ExecContext(ctx, `CREATE TABLE only_in_a (x INT)`)
	require.NoError(t, err)
	_, err = b.ExecContext(ctx, `SELECT * FROM only_in_a`)
	assert.ErrorContains(t, err, "does not exist", "databases are separate")

	for setting, want := range map[string]string{"fsync": "off", "listen_addresses": "127.0.0.1",
		"server_encoding": "UTF8", "deadlock_timeout": "100ms"} {
		var got string
		require.NoError(t, a.QueryRowContext(ctx, "SHOW "+setting).Scan(&got), setting)
		assert.Equal(t, want, got, setting)
	}
	var sorted string
	require.NoError(t, a.QueryRowContext(ctx,
		`SELECT string_agg(x, ' ' ORDER BY x) FROM unnest(ARRAY['team-a', 'teamxc', 'team_c']) x`).Scan(&sorted))
	assert.Equal(t, "team_c team-a teamxc", sorted, "text sorts by ICU's en-US, not byte by byte")

	fi, err := os.Stat("/proc/" + strconv.Itoa(s.cmd.Process.Pid))
	require.NoError(t, err)
	owner := fi.Sys().(*syscall.Stat_t).Uid
	if os.Geteuid() == 0 {
		assert.NotZero(t, owner, "the server does not run as root")
	} else {
		assert.Equal(t, uint32(os.Geteuid()), owner)
	}

	dir := s.dir
	a.Close()
	b.Close()
	s.Stop()
	_, err = os.Stat(dir)
	assert.True(t, os.IsNotExist(err), "Stop removes the server's directory")
	assert.Error(t, open(t, "postgres://postgres@127.0.0.1:"+strconv.Itoa(s.Port)+"/postgres?sslmode=disable&connect_timeout=2").PingContext(ctx))
	s.Stop() // again: nothing
}

// A shared server starts once; each test's database is dropped when the
// test ends.
func TestSharedDropsEachTestsDatabase(t *testing.T) {
	var sh Shared
	defer sh.Stop()
	var first string
	t.Run("a", func(t *testing.T) {
		first = sh.Database(t)
		_, err := open(t, first).ExecContext(t.Context(), `CREATE TABLE t (x INT)`)
		require.NoError(t, err)
	})
	second := sh.Database(t)
	assert.NotEqual(t, first, second)
	sh.srv.drops.Wait() // drops run in the background
	var n int
	require.NoError(t, open(t, second).QueryRowContext(context.Background(),
		`SELECT COUNT(*) FROM pg_database WHERE datname LIKE 't1\_%'`).Scan(&n))
	assert.Zero(t, n, "the first test's database was dropped")
	assert.Contains(t, second, "/t2_testshareddropseachtestsdatabase?")
}
