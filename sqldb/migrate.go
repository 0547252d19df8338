package sqldb

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
)

// Migrate applies a component's migrations in order, each once, each in its
// own transaction. Files are named NNNN_description.sql (any directory depth
// inside fsys); the number is the version. Applied versions are recorded in
// the schema_migrations table, per component, so packages migrate
// independently of each other.
//
// Several processes may migrate one PostgreSQL database at once (the nodes
// of a cluster starting together): each migration transaction first takes
// a transaction-scoped advisory lock, so they apply one at a time and none
// applies a version another has recorded. SQLite's write lock does the
// same there.
func (db *DB) Migrate(ctx context.Context, component string, fsys fs.FS) error {
	files, err := migrationFiles(fsys)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", component, err)
	}
	err = db.Write(ctx, func(tx *Tx) error {
		tx.noCache = true
		if err := lockMigrations(ctx, tx); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			component TEXT NOT NULL,
			version INTEGER NOT NULL,
			PRIMARY KEY (component, version))`)
		if err != nil {
			return err
		}
		return refuseNewer(ctx, tx, component, files)
	})
	if err != nil {
		return fmt.Errorf("migrate %s: %w", component, err)
	}
	for _, f := range files {
		body, err := fs.ReadFile(fsys, f.path)
		if err != nil {
			return fmt.Errorf("migrate %s: %w", component, err)
		}
		err = db.Write(ctx, func(tx *Tx) error {
			tx.noCache = true // DDL, run once
			if err := lockMigrations(ctx, tx); err != nil {
				return err
			}
			var n int
			if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE component = ? AND version = ?`,
				component, f.version).Scan(&n); err != nil || n > 0 {
				return err
			}
			for _, stmt := range splitStatements(string(body)) {
				if _, err := tx.Exec(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", f.path, err)
				}
			}
			_, err := tx.Exec(ctx, `INSERT INTO schema_migrations (component, version) VALUES (?, ?)`, component, f.version)
			return err
		})
		if err != nil {
			return fmt.Errorf("migrate %s: %w", component, err)
		}
	}
	return nil
}

// ErrSchemaNewer means the database was migrated by a newer berth than
// this one: running on it could misread or damage what the newer version
// wrote. Upgrade this binary (or restore the database's backup).
var ErrSchemaNewer = errors.New("database schema is newer than this binary")

// refuseNewer fails when the database records a version of component
// that none of files has.
func refuseNewer(ctx context.Context, tx *Tx, component string, files []migrationFile) error {
	known := 0
	if len(files) > 0 {
		known = files[len(files)-1].version
	}
	var applied int
	if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations WHERE component = ?`,
		component).Scan(&applied); err != nil {
		return err
	}
	if applied > known {
		return fmt.Errorf("%w: %s is at version %d, this binary knows up to %d", ErrSchemaNewer, component, applied, known)
	}
	return nil
}

// lockMigrations makes concurrent migrators on PostgreSQL wait for each
// other until tx ends. Even CREATE TABLE IF NOT EXISTS needs it there: two
// at once fail on the catalog's unique index.
func lockMigrations(ctx context.Context, tx *Tx) error {
	if tx.db.dialect != Postgres {
		return nil
	}
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(?)`, migrationLockKey)
	return err
}

type migrationFile struct {
	path    string
	version int
}

func migrationFiles(fsys fs.FS) ([]migrationFile, error) {
	var out []migrationFile
	seen := map[int]string{}
	err := fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".sql") {
			return err
		}
		num, _, ok := strings.Cut(path.Base(p), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return fmt.Errorf("migration %s: name must be NNNN_description.sql", p)
		}
		if prev, dup := seen[v]; dup {
			return fmt.Errorf("migrations %s and %s share version %d", prev, p, v)
		}
		seen[v] = p
		out = append(out, migrationFile{path: p, version: v})
		return nil
	})
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	return out, err
}

// splitStatements splits a migration on ';' at line ends. Migrations keep
// one statement per ';'-terminated block; no procedural bodies.
func splitStatements(body string) []string {
	var out []string
	for _, s := range strings.Split(body, ";\n") {
		if s = strings.TrimSpace(s); s != "" && !onlyComments(s) {
			out = append(out, s)
		}
	}
	return out
}

func onlyComments(s string) bool {
	for _, line := range strings.Split(s, "\n") {
		if l := strings.TrimSpace(line); l != "" && !strings.HasPrefix(l, "--") {
			return false
		}
	}
	return true
}

// MigrateDialect applies the migrations under migrations/<dialect>/ in
// fsys, the layout every berth package embeds:
//
//	//go:embed migrations
//	var migrations embed.FS
//	err := db.MigrateDialect(ctx, "registry", migrations)
//
// A package without migrations for the database's dialect gets an error
// naming it, rather than an empty schema.
func (db *DB) MigrateDialect(ctx context.Context, component string, fsys fs.FS) error {
	dir := "migrations/" + string(db.dialect)
	if _, err := fs.Stat(fsys, dir); err != nil {
		return fmt.Errorf("migrate %s: no migrations for the %s dialect", component, db.dialect)
	}
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", component, err)
	}
	return db.Migrate(ctx, component, sub)
}
