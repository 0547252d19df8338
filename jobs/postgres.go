package jobs

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/riverqueue/river/rivermigrate"
)

// isPostgres reports whether db is a pool of pgx's database/sql driver,
// which is how sqldb opens PostgreSQL (stdlib.OpenDB, or sql.Open("pgx")).
func isPostgres(db *sql.DB) bool {
	_, ok := db.Driver().(*stdlib.Driver)
	return ok
}

// newClient returns River's client on db with the driver for its engine.
// Both drivers work over database/sql, so the client's transaction type
// is *sql.Tx either way.
func newClient(db *sql.DB, rc *river.Config) (*river.Client[*sql.Tx], error) {
	if isPostgres(db) {
		return river.NewClient(riverdatabasesql.New(db), rc)
	}
	return river.NewClient(riversqlite.New(db), rc)
}

// newMigrator returns River's migrator on db with the driver for its
// engine; each engine has its own migration files.
func newMigrator(db *sql.DB) (*rivermigrate.Migrator[*sql.Tx], error) {
	if isPostgres(db) {
		return rivermigrate.New(riverdatabasesql.New(db), nil)
	}
	return rivermigrate.New(riversqlite.New(db), nil)
}

// migrationLockKey is the session advisory lock Migrate holds on
// PostgreSQL, so that nodes starting together apply River's migrations one
// at a time: two migrators that both found a version missing would both
// run it, and the second would fail on what the first created. Any fixed
// number will do; this one is "river" in ASCII (sqldb's is "berth").
const migrationLockKey int64 = 0x7269766572

// lockMigrations takes migrationLockKey on a connection of its own, opened
// with the settings of db's connections, and returns the function that
// releases it (by closing that connection). River applies each migration
// in a transaction of its own through db, so the lock must outlive
// transactions (a session lock), and holding one of db's connections for it
// would starve a pool of one. Waiting for another node's migrations is
// bounded by ctx, not by the statement timeout of db's connections.
func lockMigrations(ctx context.Context, db *sql.DB) (unlock func(), err error) {
	var cfg *pgx.ConnConfig
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, err
	}
	err = conn.Raw(func(dc any) error {
		c, ok := dc.(*stdlib.Conn)
		if !ok {
			return fmt.Errorf("unexpected connection type %T", dc)
		}
		cfg = c.Conn().Config().Copy()
		return nil
	})
	_ = conn.Close() // back to the pool
	if err != nil {
		return nil, err
	}
	if cfg.RuntimeParams == nil {
		cfg.RuntimeParams = map[string]string{}
	}
	cfg.RuntimeParams["statement_timeout"] = "0"
	lc, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := lc.Exec(ctx, `SELECT pg_advisory_lock($1)`, migrationLockKey); err != nil {
		_ = lc.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	// The server releases a session's advisory locks when it ends.
	return func() {
		cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = lc.Close(cctx)
	}, nil
}
