package webhook

import (
	"context"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/internal/pgtest"
	"github.com/berthlabs/berth/sqldb"
)

// pg is the PostgreSQL server this package's tests share.
var pg pgtest.Shared

func TestMain(m *testing.M) { os.Exit(pg.Run(m)) }

// PostgresDatabase returns the URL of a fresh, empty schema on the shared
// server, for this package's tests and webhook_test's (they cannot see
// pg). The tests share one database, each with a schema of its own, the
// only one its connections see (search_path): creating a database costs
// a checkpoint, hundreds of milliseconds on a busy machine, a schema a
// few.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	schemaDB.once.Do(func() {
		schemaDB.url = pg.Database(binaryLifetime{t})
		schemaDB.admin, schemaDB.err = sqldb.OpenPostgres(context.Background(), schemaDB.url)
	})
	require.NoError(t, schemaDB.err)
	schema := fmt.Sprintf("t%d", schemaDB.schemas.Add(1))
	require.NoError(t, schemaDB.admin.Write(t.Context(), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(t.Context(), `CREATE SCHEMA `+schema)
		return err
	}))
	return schemaDB.url + "&search_path=" + schema
}

// schemaDB is the database of PostgresDatabase.
var schemaDB struct {
	once    sync.Once
	url     string
	admin   *sqldb.DB
	err     error
	schemas atomic.Int64
}

// binaryLifetime is a test whose cleanups never run: the database made
// for it lives until the server stops, after the last test.
type binaryLifetime struct{ testing.TB }

func (binaryLifetime) Cleanup(func()) {}
