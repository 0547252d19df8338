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
}

// Dialect reports the engine.
func (db *DB) Dialect() Dialect { return db.dialect }

// Close closes both pools.
func (db *DB) Close() error {
	err := db.writer.Close()
	if db.reader != db.writer {
		err = errors.Join(err, db.reader.Close())
	}
	return err
}

// Query runs a read query.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return db.reader.QueryContext(ctx, db.rebind(query), args...)
}

// QueryRow runs a read query returning at most one row.
func (db *DB) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return db.reader.QueryRowContext(ctx, db.rebind(query), args...)
}

// Write runs fn in a write transaction and commits it when fn returns nil.
// The commit is durable when Write returns nil.
func (db *DB) Write(ctx context.Context, fn func(tx *Tx) error) error {
	stx, err := db.writer.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(&Tx{tx: stx, db: db}); err != nil {
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
	tx *sql.Tx
	db *DB
}

// Exec runs a statement.
func (t *Tx) Exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(ctx, t.db.rebind(query), args...)
}

// Query runs a query inside the transaction.
func (t *Tx) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(ctx, t.db.rebind(query), args...)
}

// QueryRow runs a query returning at most one row inside the transaction.
func (t *Tx) QueryRow(ctx context.Context, query string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(ctx, t.db.rebind(query), args...)
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
