package retention

import (
	"os"
	"testing"

	"github.com/berthlabs/berth/internal/pgtest"
)

// pg is the PostgreSQL server this package's tests share, each test with a
// database of its own.
var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// PostgresDatabase returns the URL of a fresh database on the shared
// server, for retention_test's helpers (they cannot see pg).
func PostgresDatabase(t testing.TB) string { return pg.Database(t) }
