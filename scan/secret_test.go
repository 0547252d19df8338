package scan_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/scan"
)

// Adapter credentials are encrypted at rest under the secret key: the
// database holds no clear text, the adapter still gets the credential, and
// the wrong key fails loudly rather than sending garbage.
func TestAdapterCredentialsSealedAtRest(t *testing.T) {
	scan.OnEngines(t, func(t *testing.T) {
		ctx := context.Background()
		db := scan.OpenDB(t)
		var dialed []string
		dial := func(r scan.Registration) (scan.Scanner, error) {
			dialed = append(dialed, r.Credential)
			return &scan.Static{Info: scan.ScannerInfo{Name: "ext", Vendor: "tests", Version: "1"}}, nil
		}
		open := func(key []byte) *scan.Service {
			svc, err := scan.NewService(ctx, db, scan.WithSecretKey(key), scan.WithAdapters(dial, nil))
			require.NoError(t, err)
			t.Cleanup(func() { _ = svc.Close() })
			return svc
		}
		key := bytes.Repeat([]byte{1}, 32)
		svc := open(key)
		r, err := svc.AddScanner(ctx, scan.Registration{Name: "ext", URL: "http://adapter:8080", Auth: scan.AuthBearer,
			Credential: "very-secret-token"})
		require.NoError(t, err)

		var stored string
		require.NoError(t, db.QueryRow(ctx, `SELECT credential FROM scan_scanners WHERE id = ?`, r.ID).Scan(&stored))
		assert.NotContains(t, stored, "very-secret-token")
		assert.NotEmpty(t, stored)

		_, err = svc.ScannerMetadata(ctx, r.ID)
		require.NoError(t, err)
		assert.Equal(t, []string{"very-secret-token"}, dialed)

		_, err = open(bytes.Repeat([]byte{2}, 32)).ScannerMetadata(ctx, r.ID)
		assert.ErrorContains(t, err, "credential")
		assert.Len(t, dialed, 1, "never dialed with a credential it could not open")

		_, err = scan.NewService(ctx, db, scan.WithSecretKey([]byte("short")))
		assert.Error(t, err)
	})
}
