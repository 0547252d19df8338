package server

import (
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/scan"
	"github.com/berthlabs/berth/sqldb"
)

func TestInternalURL(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.1:5000":   "http://127.0.0.1:5000",
		":5000":            "http://127.0.0.1:5000",
		"0.0.0.0:5000":     "http://127.0.0.1:5000",
		"[::]:5000":        "http://127.0.0.1:5000",
		"registry.lan:443": "http://registry.lan:443",
		"[::1]:5000":       "http://[::1]:5000",
	} {
		assert.Equal(t, want, internalURL(addr), addr)
	}
}

// Harbor's use_internal_addr: an adapter registered with it pulls from
// the server's own address, others from the external URL.
func TestScannerSourceAddress(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	robots, err := auth.NewRobots(t.Context(), db)
	require.NoError(t, err)
	c := &scannerCreds{robots: robots, externalURL: "https://registry.example.com", internalURL: "http://127.0.0.1:5000",
		ttl: time.Hour, log: slog.New(slog.NewTextHandler(io.Discard, nil)), active: map[string]string{}}
	art := scan.Artifact{Repository: "p/app", Digest: digest.FromString("app")}
	for _, tc := range []struct {
		internal bool
		host     string
		insecure bool
	}{{false, "registry.example.com", false}, {true, "127.0.0.1:5000", true}} {
		src, release, err := c.source(t.Context(), scan.Registration{Name: "a", UseInternal: tc.internal}, art)
		require.NoError(t, err)
		assert.Equal(t, tc.host, src.Registry)
		assert.Equal(t, tc.insecure, src.Insecure)
		assert.NotEmpty(t, src.Authorization)
		release()
	}
}
