package chart

import (
	"os"
	"testing"

	"github.com/berthlabs/berth/internal/pgtest"
)

// pg is the PostgreSQL server this package's tests share, each test with a
// database of its own.
var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }
