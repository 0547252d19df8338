package pgtest

import (
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // the "pgx" database/sql driver
)

// Shared is one server for all the tests of a test binary that ask it for
// a database, started by the first of them; each test still gets a
// database of its own. The zero value is ready to use; TestMain runs the
// tests through Run, which stops the server after them.
type Shared struct {
	once sync.Once
	srv  *Server
	err  error

	schemaOnce sync.Once
	schemaURL  string // the database Schema makes schemas in
	schemaDB   *sql.DB
	schemaErr  error
	schemas    atomic.Int64
}

// Schema returns the URL of a new, empty schema for t, the only one its
// connections see (search_path), in one database all of the binary's
// tests share. It is Database for suites with many tests: creating a
// database costs a checkpoint, hundreds of milliseconds on a busy
// machine, a schema a few. Schemas live until the server stops.
func (sh *Shared) Schema(t testing.TB) string {
	t.Helper()
	sh.schemaOnce.Do(func() {
		sh.schemaURL = sh.Database(binaryLifetime{t})
		sh.schemaDB, sh.schemaErr = sql.Open("pgx", sh.schemaURL)
	})
	if sh.schemaErr != nil {
		t.Fatalf("pgtest: schema database: %v", sh.schemaErr)
	}
	schema := fmt.Sprintf("t%d", sh.schemas.Add(1))
	if _, err := sh.schemaDB.ExecContext(t.Context(), `CREATE SCHEMA `+schema); err != nil {
		t.Fatalf("pgtest: creating schema: %v", err)
	}
	return sh.schemaURL + "&search_path=" + schema
}

// binaryLifetime is a test whose cleanups never run: the database made
// for Schema lives until the server stops, after the last test.
type binaryLifetime struct{ testing.TB }

func (binaryLifetime) Cleanup(func()) {}

// Database returns the URL of a new database for t on the shared server,
// dropped when t ends. A missing PostgreSQL fails or skips t as Start
// does; a server that did not start fails every test that asks for it.
func (sh *Shared) Database(t testing.TB) string {
	t.Helper()
	bin := findBinaries(t)
	sh.once.Do(func() { sh.srv, sh.err = start(bin) })
	if sh.err != nil {
		t.Fatalf("pgtest: shared server: %v", sh.err)
	}
	return sh.srv.Database(t)
}

// Run runs m's tests and then stops the server; it returns m.Run's exit
// code:
//
//	func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }
func (sh *Shared) Run(m *testing.M) int {
	defer sh.Stop()
	return m.Run()
}

// Stop stops the server if one was started.
func (sh *Shared) Stop() {
	if sh.schemaDB != nil {
		_ = sh.schemaDB.Close()
	}
	if sh.srv != nil {
		sh.srv.Stop()
	}
}
