package sqldb_test

import (
	"context"
	"fmt"
	"log"
	"testing/fstest"
	"time"

	"github.com/berthlabs/berth/sqldb"
)

// A package owns its schema as migration files and applies them on start.
func Example() {
	ctx := context.Background()
	db, err := sqldb.OpenSQLiteMemory(ctx) // OpenSQLite(ctx, path) for a durable file
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()

	migrations := fstest.MapFS{ // usually an embed.FS
		"0001_notes.sql": {Data: []byte("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT NOT NULL);\n")},
	}
	if err := db.Migrate(ctx, "notes", migrations); err != nil {
		log.Fatal(err)
	}
	err = db.Write(ctx, func(tx *sqldb.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO notes (body) VALUES (?), (?)`, "hello", "world")
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM notes`).Scan(&n); err != nil {
		log.Fatal(err)
	}
	fmt.Println("notes:", n)
	// Output: notes: 2
}

// The processes of a cluster share one PostgreSQL database. Each package
// embeds migrations/sqlite and migrations/postgres; MigrateDialect picks
// the database's. (Not run: it needs a server.)
func ExampleOpenPostgres() {
	ctx := context.Background()
	db, err := sqldb.OpenPostgres(ctx, "postgres://berth:secret@db.example:5432/berth?sslmode=verify-full",
		sqldb.WithMaxConns(16), sqldb.WithStatementTimeout(30*time.Second))
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	migrations := fstest.MapFS{ // usually an embed.FS
		"migrations/sqlite/0001_counters.sql":   {Data: []byte("CREATE TABLE counters (name TEXT PRIMARY KEY, n BIGINT NOT NULL);\n")},
		"migrations/postgres/0001_counters.sql": {Data: []byte("CREATE TABLE counters (name TEXT PRIMARY KEY, n BIGINT NOT NULL);\n")},
	}
	if err := db.MigrateDialect(ctx, "counters", migrations); err != nil {
		log.Fatal(err)
	}
	// Read, change, write back: lock the row read, as other processes
	// write concurrently. fn may run again after a deadlock, so it only
	// assigns what it hands out.
	var pulls int64
	err = db.Write(ctx, func(tx *sqldb.Tx) error {
		err := tx.QueryRow(ctx, `SELECT n FROM counters WHERE name = ?`+tx.ForUpdate(), "pulls").Scan(&pulls)
		if err != nil {
			return err
		}
		pulls++
		_, err = tx.Exec(ctx, `UPDATE counters SET n = ? WHERE name = ?`, pulls, "pulls")
		return err
	})
	if err != nil {
		log.Fatal(err)
	}
}
