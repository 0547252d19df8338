// Package sqldb is the SQL engine every stateful berth package shares.
//
// The embedded default is SQLite (modernc.org/sqlite, pure Go) in WAL mode
// with synchronous=FULL, so an acknowledged commit survives a crash.
// PostgreSQL (pgx v5) is the shared engine for several processes of one
// registry. Queries are written once with '?' placeholders and portable SQL
// (ON CONFLICT, RETURNING); the dialect rewrites placeholders for the
// engine, so callers do not change with it.
//
// Each package owns its schema as embedded migration files, one directory
// per dialect, and applies them with MigrateDialect:
//
//	//go:embed migrations
//	var migrations embed.FS // migrations/sqlite/*.sql, migrations/postgres/*.sql
//
//	db, err := sqldb.OpenSQLite(ctx, "/var/lib/berth/berth.db")
//	// or: db, err := sqldb.OpenPostgres(ctx, "postgres://berth@db:5432/berth", sqldb.WithMaxConns(16))
//	err = db.MigrateDialect(ctx, "registry", migrations)
//	err = db.Write(ctx, func(tx *sqldb.Tx) error {
//		_, err := tx.Exec(ctx, `INSERT INTO t(a) VALUES (?)`, 1)
//		return err
//	})
package sqldb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a handle shared by every package. With SQLite, writes go through
// one serialised pool (SQLite allows one writer) and reads use a concurrent
// pool; with PostgreSQL both share one bounded pool.
type DB struct {
	dialect Dialect
	writer  *sql.DB
	reader  *sql.DB
	reads   stmtCache // on reader
	writes  stmtCache // on writer, used inside transactions

	// writeMu serialises Write when the engine allows one writer (SQLite):
	// waiting here is cheaper and fairer than SQLite's sleeping busy
	// handler, and it leaves the writer pool's second connection free to
	// prepare statements while a transaction holds the first.
	writeMu      sync.Mutex
	serialWrites bool
	cacheReads   bool // SQLite: PostgreSQL's statements are cached by pgx
	cacheWrites  bool
	retryWrites  bool            // PostgreSQL: rerun fn after a deadlock (Write)
	pgConfig     *pgx.ConnConfig // PostgreSQL: how to open more pools (NewPool)
	dsn          string          // file SQLite: how to open more pools (NewPool)
	ckptPool     *sql.DB         // file SQLite: the checkpointer's connection
	ckpt         *checkpointer   // file SQLite
}

// stmtCache holds prepared statements by query text: parsing SQL costs more
// than running a point lookup or a single-row insert.
type stmtCache struct {
	m     sync.Map // query text -> *sql.Stmt
	count atomic.Int32
}

// Exclusive reports whether this process is the database's only user, so
// in-process caches of its contents stay exact. True for embedded SQLite,
// false for PostgreSQL.
func (db *DB) Exclusive() bool { return db.dialect == SQLite }

// Dialect reports the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes both pools.
func (db *DB) Close() error {
	db.ckpt.close()
	db.reads.close()
	db.writes.close()
	err := db.writer.Close()
	if db.ckptPool != nil {
		err = errors.Join(err, db.ckptPool.Close())
	}
	if db.reader != db.writer {
		err = errors.Join(err, db.reader.Close())
	}
	return err
}

// Query runs a read query. Statements are prepared once per query text and
// reused: parsing SQL costs more than running a point lookup.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := db.readStmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.reader.QueryContext(ctx, db.rebind(query), args...)
}

// QueryRow runs a read query returning at most one row.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.readStmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.reader.QueryRowContext(ctx, db.rebind(query), args...)
}

// readStmt returns the reader's cached statement for query, or nil.
func (db *DB) readStmt(ctx context.Context, query string) *sql.Stmt {
	if !db.cacheReads {
		return nil
	}
	return db.reads.get(ctx, db.reader, db.rebind(query))
}

// maxPreparedStatements bounds each statement cache; callers use a fixed
// set of query texts, so the bound only guards against dynamic SQL.
const maxPreparedStatements = 256

// get returns the cached statement for query, preparing it on pool at first
// use, or nil when it cannot be cached (the caller then runs the query
// directly and any error surfaces there).
func (c *stmtCache) get(ctx context.Context, pool *sql.DB, query string) *sql.Stmt {
	if st, ok := c.m.Load(query); ok {
		return st.(*sql.Stmt)
	}
	if c.count.Load() >= maxPreparedStatements {
		return nil
	}
	st, err := pool.PrepareContext(ctx, query)
	if err != nil {
		return nil
	}
	if prev, loaded := c.m.LoadOrStore(query, st); loaded {
		_ = st.Close()
		return prev.(*sql.Stmt)
	}
	c.count.Add(1)
	return st
}

func (c *stmtCache) close() {
	c.m.Range(func(_, v any) bool {
		_ = v.(*sql.Stmt).Close()
		return true
	})
}

// Write runs fn in a write transaction and commits it when fn returns nil.
// The commit is durable when Write returns nil. Any error from fn rolls
// the transaction back and is returned.
//
// With SQLite, writes are serialised: fn sees no other writer's changes
// while it runs. With PostgreSQL, writers run concurrently at READ
// COMMITTED, the server's default: each statement sees what was committed
// before it began, and the schema's unique constraints, ON CONFLICT and
// row locks keep concurrent writers correct. An UPDATE locks the rows it
// changes until the commit; a SELECT whose answer decides a later write
// must lock the rows it reads (Tx.ForUpdate), or another writer may
// change them in between. A statement that fails aborts a PostgreSQL
// transaction, so prefer ON CONFLICT to catching a constraint error inside
// fn.
//
// With PostgreSQL, when the server aborts the transaction for a deadlock
// or a serialization failure (SQLSTATE 40P01, 40001), Write rolls it back
// and runs fn again, up to four times in all. fn must therefore be safe to
// rerun: change the database only through tx, and assign (not append to
// or add to) what it hands to the caller.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	if db.serialWrites {
		db.writeMu.Lock()
		defer db.writeMu.Unlock()
	}
	for attempt := 1; ; attempt++ {
		err := db.writeOnce(ctx, fn)
		if err == nil || !db.retryWrites || !retryable(err) || attempt == maxWriteAttempts {
			return err
		}
		// A short random pause, so that the two sides of a deadlock do
		// not meet again in step.
		select {
		case <-ctx.Done():
			return errors.Join(err, ctx.Err())
		case <-time.After(time.Duration(attempt) * time.Duration(1+rand.IntN(10)) * time.Millisecond):
		}
	}
}

func (db *DB) writeOnce(ctx context.Context, fn func(tx *Tx) error) error {
	var opts *sql.TxOptions
	if db.dialect == Postgres {
		// Explicit, in case the server's default_transaction_isolation
		// says otherwise: Write's contract is READ COMMITTED.
		opts = &sql.TxOptions{Isolation: sql.LevelReadCommitted}
	}
	stx, err := db.writer.BeginTx(ctx, opts)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Tx{tx: stx, db: db, noCache: !db.cacheWrites}); err != nil {
		return errors.Join(err, ignoreDone(stx.Rollback()))
	}
	if err := stx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// Tx is a write transaction.
type Tx struct {
	tx      *sql.Tx
	db      *DB
	noCache bool
}

// Exec runs a statement.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return t.tx.ExecContext(ctx, t.db.rebind(query), args...)
}

// Query runs a query inside the transaction.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return t.tx.QueryContext(ctx, t.db.rebind(query), args...)
}

// QueryRow runs a query returning at most one row inside the transaction.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := t.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return t.tx.QueryRowContext(ctx, t.db.rebind(query), args...)
}

// ForUpdate returns the clause that locks the rows a SELECT reads until
// the transaction ends, to append to a SELECT whose answer decides a
// later write (read, change, write back): " FOR UPDATE" with PostgreSQL,
// where another writer could otherwise change the rows in between, and ""
// with SQLite, where the transaction already excludes every other writer.
// PostgreSQL refuses it on aggregates, DISTINCT and GROUP BY.
func (t *Tx) ForUpdate() string {
	if t.db.dialect == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// stmt binds the writer's cached statement to this transaction. On the
// single writer connection database/sql reuses the prepared statement
// instead of preparing it again. Migrations (DDL) bypass the cache.
func (t *Tx) stmt(ctx context.Context, query string) *sql.Stmt {
	if t.noCache {
		return nil
	}
	st := t.db.writes.get(ctx, t.db.writer, t.db.rebind(query))
	if st == nil {
		return nil
	}
	return t.tx.StmtContext(ctx, st)
}

// rebind turns '?' placeholders into the dialect's form. Question marks
// inside string literals are left alone.
func (db *DB) rebind(query string) string {
	if db.dialect != Postgres || !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	n, inString := 0, false
	for _, r := range query {
		switch {
		case r == '\'':
			inString = !inString
		case r == '?' && !inString:
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
