package webhook

import (
	"os"
	"testing"

	"github.com/berthlabs/berth/internal/pgtest"
)

// pg is the PostgreSQL server this package's tests share.
var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// PostgresDatabase returns the URL of a fresh, empty schema on the shared
// server (pgtest.Shared.Schema), for this package's tests and webhook_test's
// (they cannot see pg).
func PostgresDatabase(t testing.TB) string { return pg.Schema(t) }
