package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// OpenSQLite opens (creating if needed) a SQLite database file in WAL mode
// with synchronous=FULL: every committed write is fsynced before Write
// returns. Readers never block the writer.
//
// Pages are read through a memory map of up to 1 GiB (no read call and
// copy per page: a large store's random index lookups, as garbage
// collection makes, cost little more than a small one's). The log is
// folded back into the database by a background checkpointer every
// second rather than by the transaction that happens to commit past
// SQLite's threshold, so no commit pays for the scattered page writes of
// a checkpoint (in a large store they cost several times what they do in
// a small one); SQLite's own checkpoint stays as a backstop at 100,000
// pages (400 MiB), and the log file is cut back to 64 MiB after each.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	pragmas := []string{
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"busy_timeout(10000)",
		"foreign_keys(1)",
		"mmap_size(1073741824)",
		"wal_autocheckpoint(100000)",
		"journal_size_limit(67108864)",
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	writer, err := sql.Open("sqlite", base+"?"+dsnQuery(pragmas)+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	// Writes are serialised by DB.Write; the second connection prepares
	// statements while the first is inside a transaction.
	writer.SetMaxOpenConns(2)
	writer.SetMaxIdleConns(2)
	writer.SetConnMaxLifetime(0)
	if err := writer.PingContext(ctx); err != nil {
		writer.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	reader, err := sql.Open("sqlite", base+"?"+dsnQuery(append(pragmas, "query_only(1)")))
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	reader.SetMaxOpenConns(8)
	reader.SetMaxIdleConns(8)
	reader.SetConnMaxLifetime(0)
	ckpt, err := sql.Open("sqlite", base+"?"+dsnQuery(pragmas))
	if err != nil {
		writer.Close()
		reader.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	ckpt.SetMaxOpenConns(1)
	ckpt.SetConnMaxLifetime(0)
	return &DB{dialect: SQLite, writer: writer, reader: reader, serialWrites: true, cacheReads: true, cacheWrites: true,
		dsn: base + "?" + dsnQuery(pragmas), ckptPool: ckpt, ckpt: startCheckpointer(ckpt)}, nil
}

// OpenSQLiteMemory opens a private in-memory SQLite database, for tests and
// embedding. Everything is lost when it is closed. Reads and writes share
// one connection.
func OpenSQLiteMemory(ctx context.Context) (*DB, error) {
	var id [8]byte
	_, _ = rand.Read(id[:])
	dsn := fmt.Sprintf("file:berth-%x?mode=memory&cache=shared&_pragma=foreign_keys(1)", id)
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("open in-memory sqlite: %w", err)
	}
	// The database lives as long as a connection does: keep exactly one.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open in-memory sqlite: %w", err)
	}
	// One connection: a write statement cache would deadlock preparing
	// while a transaction holds it, so writes are not cached here.
	return &DB{dialect: SQLite, writer: db, reader: db, serialWrites: true, cacheReads: true}, nil
}

func dsnQuery(pragmas []string) string {
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	return q.Encode()
}

// NewPool opens another connection pool of at most maxOpen connections on
// the same database, for a library that manages its own transactions
// (River's job queue). Close it when done.
//
// With SQLite it opens the same file with the same settings. Writes through
// it contend with Write at SQLite's lock, which busy_timeout absorbs: its
// transactions begin IMMEDIATE, taking the write lock up front, since a
// deferred transaction that reads and then writes fails at once with
// SQLITE_BUSY_SNAPSHOT (517) when another writer committed in between. Not
// available for in-memory databases.
//
// With PostgreSQL it is a pool (pgx through database/sql) over the same
// URL and settings; its connections count against the server's
// max_connections besides the DB's own.
func (db *DB) NewPool(ctx context.Context, maxOpen int) (*sql.DB, error) {
	if db.pgConfig != nil {
		return openPostgresPool(ctx, db.pgConfig, maxOpen)
	}
	if db.dsn == "" {
		return nil, errors.New("sqldb: NewPool needs a file-backed SQLite database")
	}
	pool, err := sql.Open("sqlite", db.dsn+"&_txlock=immediate")
	if err != nil {
		return nil, err
	}
	pool.SetMaxOpenConns(maxOpen)
	pool.SetConnMaxLifetime(0)
	if err := pool.PingContext(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return pool, nil
}
