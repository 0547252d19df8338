package sqldb_test

import (
	"context"
	"fmt"
	"log"
	"testing/fstest"

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
