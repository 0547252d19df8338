package sqldb

import (
	"errors"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func openPostgres(t *testing.T, url string, opts ...PostgresOption) *DB {
	t.Helper()
	db, err := OpenPostgres(t.Context(), url, opts...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

func TestPostgresDefaults(t *testing.T) {
	ctx := t.Context()
	db := openPostgres(t, pg.Database(t))
	assert.False(t, db.Exclusive(), "a server may have other clients")
	assert.Equal(t, Postgres, db.Dialect())
	assert.Equal(t, DefaultMaxConns, db.writer.Stats().MaxOpenConnections)
	for setting, want := range map[string]string{"statement_timeout": "30s", "application_name": "berth"} {
		var got string
		require.NoError(t, db.QueryRow(ctx, "SHOW "+setting).Scan(&got))
		assert.Equal(t, want, got, setting)
	}
	var level string
	require.NoError(t, db.Write(ctx, func(tx *Tx) error {
		return tx.QueryRow(ctx, `SHOW transaction_isolation`).Scan(&level)
	}))
	assert.Equal(t, "read committed", level)
}

// Write's isolation level holds even where the server's default differs.
func TestPostgresWriteIsReadCommitted(t *testing.T) {
	ctx := t.Context()
	db := openPostgres(t, pg.Database(t)+"&default_transaction_isolation=serializable")
	var level string
	require.NoError(t, db.QueryRow(ctx, `SHOW default_transaction_isolation`).Scan(&level))
	require.Equal(t, "serializable", level)
	require.NoError(t, db.Write(ctx, func(tx *Tx) error {
		return tx.QueryRow(ctx, `SHOW transaction_isolation`).Scan(&level)
	}))
	assert.Equal(t, "read committed", level)
}

func TestPostgresStatementTimeout(t *testing.T) {
	ctx := t.Context()
	db := openPostgres(t, pg.Database(t), WithStatementTimeout(100*time.Millisecond))
	start := time.Now()
	_, err := db.Query(ctx, `SELECT pg_sleep(10)`)
	var pgErr *pgconn.PgError
	require.ErrorAs(t, err, &pgErr)
	assert.Equal(t, "57014", pgErr.Code, "query_canceled")
	assert.Less(t, time.Since(start), 5*time.Second)

	err = db.Write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `SELECT pg_sleep(10)`)
		return err
	})
	require.ErrorAs(t, err, &pgErr, "inside transactions too")
	assert.Equal(t, "57014", pgErr.Code)
}

// No more than WithMaxConns connections reach the server, however many
// callers wait.
func TestPostgresPoolIsBounded(t *testing.T) {
	ctx := t.Context()
	url := pg.Database(t)
	db := openPostgres(t, url+"&application_name=bounded", WithMaxConns(2))
	observer := openPostgres(t, url)
	var peak atomic.Int64
	stop := make(chan struct{})
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		for {
			var n int64
			if err := observer.QueryRow(ctx, `SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'bounded'`).Scan(&n); err == nil && n > peak.Load() {
				peak.Store(n)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			var v string
			assert.NoError(t, db.QueryRow(ctx, `SELECT pg_sleep(0.1)::text`).Scan(&v))
		})
	}
	wg.Wait()
	close(stop)
	<-watched
	assert.Equal(t, int64(2), peak.Load(), "two connections, both used")
	assert.Positive(t, db.writer.Stats().WaitCount, "the other callers waited")

	_, err := OpenPostgres(ctx, url, WithMaxConns(0))
	assert.ErrorContains(t, err, "at least one connection")
}

func TestOpenPostgresErrors(t *testing.T) {
	ctx := t.Context()
	_, err := OpenPostgres(ctx, "postgres://u:secret@127.0.0.1:notaport/db")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "secret")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens there now
	_, err = OpenPostgres(ctx, "postgres://u@127.0.0.1:"+strconv.Itoa(port)+"/db?connect_timeout=2")
	assert.ErrorContains(t, err, "open postgres 127.0.0.1:"+strconv.Itoa(port)+"/db")
}

// Two transactions that lock two rows in opposite orders deadlock; the
// server aborts one, and Write runs its fn again, so both commit.
func TestPostgresWriteRetriesDeadlocks(t *testing.T) {
	ctx := t.Context()
	db := openPostgres(t, pg.Database(t))
	require.NoError(t, db.MigrateDialect(ctx, "test", twoMigrations))
	require.NoError(t, db.Write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO items (id, name) VALUES (1, 'a'), (2, 'b')`)
		return err
	}))
	var calls atomic.Int32
	var bothLocked sync.WaitGroup
	bothLocked.Add(2)
	bump := func(first, second int) error {
		attempt := 0
		return db.Write(ctx, func(tx *Tx) error {
			calls.Add(1)
			attempt++
			if _, err := tx.Exec(ctx, `UPDATE items SET size = size + 1 WHERE id = ?`, first); err != nil {
				return err
			}
			if attempt == 1 {
				bothLocked.Done()
				bothLocked.Wait()
			}
			_, err := tx.Exec(ctx, `UPDATE items SET size = size + 1 WHERE id = ?`, second)
			return err
		})
	}
	errs := make(chan error, 2)
	go func() { errs <- bump(1, 2) }()
	go func() { errs <- bump(2, 1) }()
	require.NoError(t, <-errs)
	require.NoError(t, <-errs)
	assert.Equal(t, int32(3), calls.Load(), "the deadlock's victim ran once more")
	var total int
	require.NoError(t, db.QueryRow(ctx, `SELECT SUM(size) FROM items`).Scan(&total))
	assert.Equal(t, 4, total, "both transactions committed, each once")
}

// Retries are bounded and only for deadlocks and serialization failures;
// SQLite, which serialises writers, never retries.
func TestWriteRetriesAreBounded(t *testing.T) {
	forEachEngine(t, func(t *testing.T, db *DB, _ func() *DB) {
		ctx := t.Context()
		for code, wantPG := range map[string]int{"40001": maxWriteAttempts, "40P01": maxWriteAttempts, "23505": 1} {
			calls := 0
			conflict := &pgconn.PgError{Code: code}
			err := db.Write(ctx, func(*Tx) error {
				calls++
				return conflict
			})
			assert.True(t, errors.Is(err, conflict), code)
			want := wantPG
			if db.Dialect() == SQLite {
				want = 1
			}
			assert.Equal(t, want, calls, code)
		}
	})
}

// Errors that mean "the database cannot answer now" are told apart from
// errors of the request, so servers answer them 503 and not 500.
func TestUnavailable(t *testing.T) {
	ctx := t.Context()
	db := openPostgres(t, pg.Database(t), WithStatementTimeout(50*time.Millisecond))
	_, err := db.Query(ctx, `SELECT pg_sleep(5)`)
	assert.True(t, Unavailable(err), "statement timeout: %v", err)

	require.NoError(t, db.Write(ctx, func(tx *Tx) error {
		_, err := tx.Exec(ctx, `CREATE TABLE u (a INT PRIMARY KEY)`)
		return err
	}))
	insert := func(tx *Tx) error { _, err := tx.Exec(ctx, `INSERT INTO u VALUES (1)`); return err }
	require.NoError(t, db.Write(ctx, insert))
	err = db.Write(ctx, insert)
	require.Error(t, err)
	assert.False(t, Unavailable(err), "a unique violation is the request's fault: %v", err)
	assert.False(t, Unavailable(errors.New("other")))
	assert.False(t, Unavailable(nil))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().(*net.TCPAddr)
	require.NoError(t, ln.Close()) // nothing listens there now
	_, err = OpenPostgres(ctx, "postgres://berth@127.0.0.1:"+strconv.Itoa(addr.Port)+"/x?connect_timeout=2")
	assert.True(t, Unavailable(err), "refused connection: %v", err)
}

// Notify reaches every listener on the database, the notifier's own
// process included; a listener whose connection is cut hears "" once it
// listens again, since what was notified meanwhile is lost.
func TestNotifyListen(t *testing.T) {
	ctx := t.Context()
	url := pg.Database(t)
	a, b := openPostgres(t, url), openPostgres(t, url)
	heardA, heardB := make(chan string, 10), make(chan string, 10)
	a.Listen(ctx, "berth_test", 50*time.Millisecond, func(p string) { heardA <- p })
	b.Listen(ctx, "berth_test", 50*time.Millisecond, func(p string) { heardB <- p })
	waitListeners(t, a, 2)

	require.NoError(t, a.Notify(ctx, "berth_test", "project:7"))
	for _, heard := range []chan string{heardA, heardB} {
		select {
		case p := <-heard:
			assert.Equal(t, "project:7", p)
		case <-time.After(5 * time.Second):
			t.Fatal("a listener heard nothing")
		}
	}

	_, err := a.Query(ctx, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE query LIKE 'LISTEN%' AND datname = current_database()`)
	require.NoError(t, err)
	for _, heard := range []chan string{heardA, heardB} {
		select {
		case p := <-heard:
			assert.Equal(t, "", p, "reconnected: anything may have changed")
		case <-time.After(5 * time.Second):
			t.Fatal("a listener did not reconnect")
		}
	}
	waitListeners(t, a, 2)
	require.NoError(t, b.Notify(ctx, "berth_test", "again"))
	assert.Equal(t, "again", <-heardA)
	assert.Equal(t, "again", <-heardB)

	sqlite, err := OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	defer sqlite.Close()
	assert.NoError(t, sqlite.Notify(ctx, "berth_test", "x"), "one process: nothing to tell")
}

// waitListeners waits until n connections of db's database are listening.
func waitListeners(t *testing.T, db *DB, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		var got int
		err := db.QueryRow(t.Context(), `SELECT COUNT(*) FROM pg_stat_activity
			WHERE query LIKE 'LISTEN%' AND datname = current_database()`).Scan(&got)
		return err == nil && got == n
	}, 5*time.Second, 10*time.Millisecond)
}
