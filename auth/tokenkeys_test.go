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

// Processes sharing a database and a secret key — nodes starting at the
// same moment — end up with one signing key; a process given another
// secret key is told so; a rotation keeps the old key for verification.
func TestTokenKeysShared(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "berth.db")
	secret := bytes.Repeat([]byte{7}, 32)
	const nodes = 6
	signers := make([][]byte, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			db, err := sqldb.OpenSQLite(ctx, path)
			if !assert.NoError(t, err) {
				return
			}
			defer db.Close()
			keys, err := auth.NewTokenKeys(ctx, db, secret)
			if !assert.NoError(t, err) {
				return
			}
			signer, retired, err := keys.Load(ctx)
			if assert.NoError(t, err) {
				assert.Empty(t, retired)
				signers[i] = publicDER(t, signer.Public())
			}
		}()
	}
	wg.Wait()
	for i := 1; i < nodes; i++ {
		assert.Equal(t, signers[0], signers[i], "node %d signs with the same key", i)
	}

	db, err := sqldb.OpenSQLite(ctx, path)
	require.NoError(t, err)
	defer db.Close()
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
}
