package pgtest

import (
	"sync"
	"testing"
)

// Shared is one server for all the tests of a test binary that ask it for
// a database, started by the first of them; each test still gets a
// database of its own. The zero value is ready to use; TestMain runs the
// tests through Run, which stops the server after them.
type Shared struct {
	once sync.Once
	srv  *Server
	err  error
}

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
	if sh.srv != nil {
		sh.srv.Stop()
	}
}
