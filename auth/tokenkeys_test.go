package auth_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/x509"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/sqldb"
)

func publicDER(t *testing.T, k crypto.PublicKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(k)
	require.NoError(t, err)
	return der
}

// secret is the secret key the token keys are sealed with.
var secret = bytes.Repeat([]byte{7}, 32)

// tokenKeyEngines runs fn on a SQLite file and on a PostgreSQL database,
// each opened by open as often as fn likes (one process each, in effect).
func tokenKeyEngines(t *testing.T, fn func(t *testing.T, open func() *sqldb.DB)) {
	for _, engine := range []string{"sqlite", "postgres"} {
		t.Run(engine, func(t *testing.T) {
			ctx := context.Background()
			var url string
			if engine == "postgres" {
				url = auth.PostgresDatabase(t)
			}
			path := filepath.Join(t.TempDir(), "berth.db")
			fn(t, func() *sqldb.DB {
				var db *sqldb.DB
				var err error
				if engine == "postgres" {
					db, err = sqldb.OpenPostgres(ctx, url)
				} else {
					db, err = sqldb.OpenSQLite(ctx, path)
				}
				require.NoError(t, err)
				t.Cleanup(func() { _ = db.Close() })
				return db
			})
		})
	}
}

// Processes sharing a database and a secret key — nodes starting at the
// same moment — end up with one signing key; a process given another
// secret key is told so; a rotation keeps the old key for verification.
func TestTokenKeysShared(t *testing.T) {
	tokenKeyEngines(t, func(t *testing.T, open func() *sqldb.DB) {
		ctx := context.Background()
		const nodes = 6
		dbs := make([]*sqldb.DB, nodes)
		for i := range dbs {
			dbs[i] = open()
		}
		signers := make([][]byte, nodes)
		var wg sync.WaitGroup
		for i := range nodes {
			wg.Go(func() {
				keys, err := auth.NewTokenKeys(ctx, dbs[i], secret)
				if !assert.NoError(t, err) {
					return
				}
				signer, retired, err := keys.Load(ctx)
				if assert.NoError(t, err) {
					assert.Empty(t, retired)
					signers[i] = publicDER(t, signer.Public())
				}
			})
		}
		wg.Wait()
		for i := 1; i < nodes; i++ {
			assert.Equal(t, signers[0], signers[i], "node %d signs with the same key", i)
		}

		db := open()
		other, err := auth.NewTokenKeys(ctx, db, bytes.Repeat([]byte{8}, 32))
		require.NoError(t, err)
		_, _, err = other.Load(ctx)
		require.ErrorContains(t, err, "same secret key")

		keys, err := auth.NewTokenKeys(ctx, db, secret)
		require.NoError(t, err)
		require.NoError(t, keys.Rotate(ctx, time.Hour))
		signer, retired, err := keys.Load(ctx)
		require.NoError(t, err)
		assert.NotEqual(t, signers[0], publicDER(t, signer.Public()), "a new key signs")
		require.Len(t, retired, 1)
		assert.Equal(t, signers[0], publicDER(t, retired[0]), "the old one still verifies")
		require.NoError(t, keys.Rotate(ctx, 0))
		_, retired, err = keys.Load(ctx)
		require.NoError(t, err)
		assert.Len(t, retired, 1, "keys retired longer ago than keep are dropped")
	})
}

// Rotations on several nodes at once all succeed, each retiring the key
// before it: on PostgreSQL a rotation that waited for another found no
// active key to retire and failed on the unique index with its new one.
func TestTokenKeysConcurrentRotations(t *testing.T) {
	tokenKeyEngines(t, func(t *testing.T, open func() *sqldb.DB) {
		ctx := context.Background()
		const nodes = 5
		keys := make([]*auth.TokenKeys, nodes)
		for i := range keys {
			var err error
			keys[i], err = auth.NewTokenKeys(ctx, open(), secret)
			require.NoError(t, err)
		}
		first, _, err := keys[0].Load(ctx)
		require.NoError(t, err)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for _, k := range keys {
			wg.Go(func() {
				<-start
				assert.NoError(t, k.Rotate(ctx, time.Hour))
			})
		}
		close(start)
		wg.Wait()
		signer, retired, err := keys[0].Load(ctx)
		require.NoError(t, err)
		assert.Len(t, retired, nodes, "every rotation retired the key before it")
		assert.NotEqual(t, publicDER(t, first.Public()), publicDER(t, signer.Public()))
	})
}
