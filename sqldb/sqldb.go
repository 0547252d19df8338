// Package sqldb is the SQL engine every stateful berth package shares.
//
// The embedded default is SQLite (modernc.org/sqlite, pure Go) in WAL mode
// with synchronous=FULL, so an acknowledged commit survives a crash. Queries
// are written once with '?' placeholders and portable SQL (ON CONFLICT,
// RETURNING); the dialect rewrites placeholders for engines that need it, so
// PostgreSQL can be added without touching callers.
//
// Each package owns its schema as embedded migration files and applies them
// with Migrate:
//
//	//go:embed migrations/*.sql
//	var migrations embed.FS
//
//	db, err := sqldb.OpenSQLite(ctx, "/var/lib/berth/berth.db")
//	err = db.Migrate(ctx, "registry", migrations)
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
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
)

// Dialect names the SQL engine behind a DB.
type Dialect string

// Supported dialects.
const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// DB is a handle shared by every package. Writes go through one serialised
// pool (SQLite allows one writer); reads use a concurrent pool.
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
	cacheWrites  bool
	dsn          string        // file SQLite: how to open more pools (NewPool)
	ckptPool     *sql.DB       // file SQLite: the checkpointer's connection
	ckpt         *checkpointer // file SQLite
}

// stmtCache holds prepared statements by query text: parsing SQL costs more
// than running a point lookup or a single-row insert.
type stmtCache struct {
	m     sync.Map // query text -> *sql.Stmt
	count atomic.Int32
}

// Exclusive reports whether this process is the database's only user, so
// in-process caches of its contents stay exact. True for embedded SQLite.
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
	if st := db.reads.get(ctx, db.reader, db.rebind(query)); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return db.reader.QueryContext(ctx, db.rebind(query), args...)
}

// QueryRow runs a read query returning at most one row.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	if st := db.reads.get(ctx, db.reader, db.rebind(query)); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return db.reader.QueryRowContext(ctx, db.rebind(query), args...)
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
// The commit is durable when Write returns nil.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	if db.serialWrites {
		db.writeMu.Lock()
		defer db.writeMu.Unlock()
	}
	stx, err := db.writer.BeginTx(ctx, nil)
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
