package sqldb

import (
	"context"
	"crypto/rand"
	"database/sql"
	"fmt"
	"net/url"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// OpenSQLite opens (creating if needed) a SQLite database file in WAL mode
// with synchronous=FULL: every committed write is fsynced before Write
// returns. Readers never block the writer.
func OpenSQLite(ctx context.Context, path string) (*DB, error) {
	pragmas := []string{
		"journal_mode(WAL)",
		"synchronous(FULL)",
		"busy_timeout(10000)",
		"foreign_keys(1)",
	}
	q := url.Values{}
	for _, p := range pragmas {
		q.Add("_pragma", p)
	}
	base := "file:" + (&url.URL{Path: path}).EscapedPath()
	writer, err := sql.Open("sqlite", base+"?"+q.Encode()+"&_txlock=immediate")
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
	q.Add("_pragma", "query_only(1)")
	reader, err := sql.Open("sqlite", base+"?"+q.Encode())
	if err != nil {
		writer.Close()
		return nil, fmt.Errorf("open sqlite %s: %w", path, err)
	}
	reader.SetMaxOpenConns(8)
	reader.SetMaxIdleConns(8)
	reader.SetConnMaxLifetime(0)
	return &DB{dialect: SQLite, writer: writer, reader: reader, serialWrites: true, cacheWrites: true}, nil
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
	return &DB{dialect: SQLite, writer: db, reader: db, serialWrites: true}, nil
}
