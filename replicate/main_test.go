package replicate_test

import (
	"os"
	"testing"

	"github.com/berthlabs/berth/internal/pgtest"
)

// pg is the PostgreSQL server this package's tests share, each test with a
// database of its own.
var pg pgtest.Shared

// TestMain runs the tests, or, re-executed by BenchmarkCopy1GiB, copies
// one image and exits.
func TestMain(m *testing.M) {
	if spec := os.Getenv(copyChildEnv); spec != "" {
		os.Exit(copyChild(spec))
	}
	os.Exit(pg.Run(m))
}
