package server

import (
	"context"
	"io"
	"log/slog"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// A server over an embedder's storage spools proxy fills in a temporary
// directory of its own, gone when the server closes.
func TestEmbeddedProxySpoolIsRemoved(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	defer db.Close()
	cfg := DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", "admin-password-1", "http://127.0.0.1:1"
	cfg.Scan.Enabled, cfg.Trust.Enabled, cfg.Charts.Enabled = false, false, false
	s, err := New(t.Context(), cfg, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithStorage(memory.New()), WithDatabase(db))
	require.NoError(t, err)
	require.NotNil(t, s.proxy, "proxy cache projects are on by default")
	spool := s.proxy.tempSpool
	require.DirExists(t, spool)
	require.NoError(t, s.Close(context.Background()))
	_, err = os.Stat(spool)
	require.True(t, os.IsNotExist(err), "the spool directory is removed: %v", err)
}
