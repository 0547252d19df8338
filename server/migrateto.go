package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage"
)

// MoveReport is what MigrateTo copied.
type MoveReport struct {
	Tables, Rows int // SQL tables and rows copied
	Blobs        int // blobs copied (those already in the target are skipped)
	BlobBytes    int64
	Skipped      []string // source tables left behind, and why
}

// notMoved are the source tables MigrateTo leaves behind: the job queue
// (River's own tables; a stopped server's queued jobs are re-created by
// the features that own them, or lost: finish or stop them first) and
// upload sessions in flight, whose bytes live in the data directory.
var notMoved = map[string]string{
	"registry_uploads":     "uploads in flight (their bytes are in the data directory): clients start them again",
	"registry_upload_gate": "reservations of uploads in flight",
}

// MigrateTo moves the embedded installation in the data directory dir (a
// stopped server's: its lock is taken) into the scale-out store to names
// (Database.URL, and Storage.S3 or a data directory for the blobs): the
// target's schema is created, every table's rows are copied in foreign-key
// order with the identity sequences moved past the copied ids, and every
// blob is copied through an upload session, verified against its digest.
// The target database must be empty. Keep the source's secret key
// (<dir>/secret.key) as the nodes' secret_key_file: stored credentials
// are sealed with it. Token signing keys are new (tokens live minutes).
// Verify the result with Check.
func MigrateTo(ctx context.Context, dir string, to Config, log *slog.Logger) (MoveReport, error) {
	var rep MoveReport
	if !to.shared() {
		return rep, errors.New("migrate-to: the target needs database.url (PostgreSQL)")
	}
	from := to
	from.DataDir, from.Database, from.Storage, from.SecretKeyFile = dir, DatabaseConfig{}, StorageConfig{}, ""
	from.TLS = TLSConfig{}
	if err := isDataDir(from); err != nil {
		return rep, err
	}
	if err := sameSecretKey(from, to); err != nil {
		return rep, err
	}
	// The source at this binary's schema first, so both have the same
	// tables and columns.
	if err := Migrate(ctx, from, WithLogger(log)); err != nil {
		return rep, fmt.Errorf("migrate-to: source schema: %w", err)
	}
	src, err := openStore(ctx, from, log)
	if err != nil {
		return rep, err
	}
	defer src.Close()
	if err := refuseUsedTarget(ctx, to); err != nil {
		return rep, err
	}
	// The target's schema, as its nodes will have it (and whatever the
	// first start creates, emptied below: the rows come from the source).
	if err := Migrate(ctx, to, WithLogger(log)); err != nil {
		return rep, fmt.Errorf("migrate-to: target schema: %w", err)
	}
	dst, err := openStore(ctx, to, log)
	if err != nil {
		return rep, err
	}
	defer dst.Close()
	if err := copyTables(ctx, src.db, dst.db, &rep); err != nil {
		return rep, fmt.Errorf("migrate-to: %w", err)
	}
	if err := copyBlobs(ctx, src.blobs, dst.blobs, &rep); err != nil {
		return rep, fmt.Errorf("migrate-to: %w", err)
	}
	return rep, nil
}

// sameSecretKey refuses a target whose secret key differs from the
// source's: what the source sealed (replication and proxy credentials)
// would be unreadable on the nodes.
func sameSecretKey(from, to Config) error {
	var srcStore, dstStore store
	src, err := srcStore.secret(from)
	if err != nil {
		return fmt.Errorf("migrate-to: source %w", err)
	}
	dst, err := dstStore.secret(to)
	if err != nil {
		return fmt.Errorf("migrate-to: target %w", err)
	}
	if !bytes.Equal(src, dst) {
		return fmt.Errorf("migrate-to: secret_key_file differs from the source's %s: give the nodes that file (stored credentials are sealed with it)",
			filepath.Join(from.DataDir, "secret.key"))
	}
	return nil
}

// refuseUsedTarget fails when the target database already has berth's
// schema: MigrateTo fills an empty one, never merges.
func refuseUsedTarget(ctx context.Context, to Config) error {
	db, err := sqldb.OpenPostgres(ctx, to.Database.URL, sqldb.WithMaxConns(1))
	if err != nil {
		return fmt.Errorf("migrate-to: target database: %w", err)
	}
	defer db.Close()
	var n int
	if err := db.QueryRow(ctx, `SELECT COUNT(*) FROM information_schema.tables
		WHERE table_schema = current_schema() AND table_name = 'schema_migrations'`).Scan(&n); err != nil {
		return fmt.Errorf("migrate-to: target database: %w", err)
	}
	if n > 0 {
		return errors.New("migrate-to: the target database is not empty (it has berth's tables): give an empty one")
	}
	return nil
}

// copyTables empties the target's tables and copies the source's rows
// into them, parents before children.
func copyTables(ctx context.Context, src, dst *sqldb.DB, rep *MoveReport) error {
	tables, err := sourceTables(ctx, src)
	if err != nil {
		return err
	}
	cols, err := targetColumns(ctx, dst)
	if err != nil {
		return err
	}
	order, err := parentsFirst(ctx, dst, tables)
	if err != nil {
		return err
	}
	var moved []string
	for _, t := range order {
		switch {
		case notMoved[t] != "":
			rep.Skipped = append(rep.Skipped, t+": "+notMoved[t])
		case strings.HasPrefix(t, "river_"):
			rep.Skipped = append(rep.Skipped, t+": the job queue (finish or stop jobs before moving)")
		case cols[t] == nil:
			return fmt.Errorf("table %s has no counterpart in the target schema", t)
		default:
			moved = append(moved, t)
		}
	}
	var quoted []string // emptied first: what the target's first start made
	for _, t := range order {
		if cols[t] != nil && !strings.HasPrefix(t, "river_") {
			quoted = append(quoted, `"`+t+`"`)
		}
	}
	return dst.Write(ctx, func(tx *sqldb.Tx) error {
		rep.Tables, rep.Rows = 0, 0
		// What the target's first start made (its admin, "library") goes:
		// the source has its own.
		if _, err := tx.Exec(ctx, `TRUNCATE `+strings.Join(quoted, ", ")+` CASCADE`); err != nil {
			return err
		}
		for _, t := range moved {
			n, err := copyTable(ctx, src, tx, t, cols[t])
			if err != nil {
				return fmt.Errorf("table %s: %w", t, err)
			}
			rep.Tables++
			rep.Rows += n
		}
		return resetIdentities(ctx, tx)
	})
}

// sourceTables lists the source's tables but its own bookkeeping.
func sourceTables(ctx context.Context, db *sqldb.DB) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT name FROM sqlite_master WHERE type = 'table'
		AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var t string
		if err := rows.Scan(&t); err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// targetColumns maps each target table to its columns' data types.
func targetColumns(ctx context.Context, db *sqldb.DB) (map[string]map[string]string, error) {
	rows, err := db.Query(ctx, `SELECT table_name, column_name, data_type FROM information_schema.columns
		WHERE table_schema = current_schema()`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := map[string]map[string]string{}
	for rows.Next() {
		var t, c, typ string
		if err := rows.Scan(&t, &c, &typ); err != nil {
			return nil, err
		}
		if out[t] == nil {
			out[t] = map[string]string{}
		}
		out[t][c] = typ
	}
	return out, rows.Err()
}

// parentsFirst orders tables so that every table comes after those its
// foreign keys reference (in the target's schema).
func parentsFirst(ctx context.Context, db *sqldb.DB, tables []string) ([]string, error) {
	rows, err := db.Query(ctx, `SELECT c.conrelid::regclass::text, c.confrelid::regclass::text
		FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
		WHERE c.contype = 'f' AND n.nspname = current_schema()`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	parents := map[string][]string{}
	for rows.Next() {
		var child, parent string
		if err := rows.Scan(&child, &parent); err != nil {
			return nil, err
		}
		parents[strings.Trim(child, `"`)] = append(parents[strings.Trim(child, `"`)], strings.Trim(parent, `"`))
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(t string) error
	visit = func(t string) error {
		switch state[t] {
		case 1:
			return fmt.Errorf("foreign keys form a cycle through %s", t)
		case 2:
			return nil
		}
		state[t] = 1
		for _, p := range parents[t] {
			if p != t && slices.Contains(tables, p) {
				if err := visit(p); err != nil {
					return err
				}
			}
		}
		state[t] = 2
		order = append(order, t)
		return nil
	}
	for _, t := range tables {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	return order, nil
}

// copyTable copies one table's rows, converting SQLite's values to the
// target column's type (booleans kept as integers, bytes as text).
func copyTable(ctx context.Context, src *sqldb.DB, tx *sqldb.Tx, table string, types map[string]string) (int, error) {
	rows, err := src.Query(ctx, `SELECT * FROM "`+table+`"`)
	if err != nil {
		return 0, err
	}
	defer rows.Close()
	names, err := rows.Columns()
	if err != nil {
		return 0, err
	}
	for _, c := range names {
		if types[c] == "" {
			return 0, fmt.Errorf("column %s has no counterpart in the target schema", c)
		}
	}
	insert := `INSERT INTO "` + table + `" ("` + strings.Join(names, `", "`) + `") VALUES (?` +
		strings.Repeat(", ?", len(names)-1) + `)`
	n := 0
	vals, ptrs := make([]any, len(names)), make([]any, len(names))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, err
		}
		for i, c := range names {
			vals[i] = convertValue(vals[i], types[c])
		}
		if _, err := tx.Exec(ctx, insert, vals...); err != nil {
			return n, err
		}
		n++
	}
	return n, rows.Err()
}

// convertValue turns a value SQLite returned into one for a target column
// of type typ.
func convertValue(v any, typ string) any {
	switch x := v.(type) {
	case int64:
		if typ == "boolean" {
			return x != 0
		}
	case []byte:
		if typ != "bytea" {
			return string(x)
		}
	case string:
		if typ == "bytea" {
			return []byte(x)
		}
	}
	return v
}

// resetIdentities moves every identity or serial column's sequence past
// the largest copied value, so new rows get new ids.
func resetIdentities(ctx context.Context, tx *sqldb.Tx) error {
	rows, err := tx.Query(ctx, `SELECT table_name, column_name FROM information_schema.columns
		WHERE table_schema = current_schema() AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')`)
	if err != nil {
		return err
	}
	var cols [][2]string
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return err
		}
		cols = append(cols, [2]string{t, c})
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, tc := range cols {
		if _, err := tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence(?, ?), COALESCE((SELECT MAX("`+tc[1]+
			`") FROM "`+tc[0]+`"), 0) + 1, false)`, `"`+tc[0]+`"`, tc[1]); err != nil {
			return fmt.Errorf("sequence of %s.%s: %w", tc[0], tc[1], err)
		}
	}
	return nil
}

// copyBlobs copies every source blob the target lacks, each through an
// upload session that verifies its digest.
func copyBlobs(ctx context.Context, src, dst storage.Driver, rep *MoveReport) error {
	return src.Walk(ctx, func(d digest.Digest, size int64) error {
		if _, err := dst.Stat(ctx, d); err == nil {
			return nil
		} else if !errors.Is(err, storage.ErrBlobUnknown) {
			return err
		}
		rc, err := src.Open(ctx, d)
		if err != nil {
			return err
		}
		defer rc.Close()
		if _, err := storage.Put(ctx, dst, d, rc); err != nil {
			return fmt.Errorf("blob %s: %w", d, err)
		}
		rep.Blobs++
		rep.BlobBytes += size
		return nil
	})
}
