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
