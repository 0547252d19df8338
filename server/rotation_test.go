package server

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

// Rotating the token key: tokens signed by the retired key keep working
// until they expire, new tokens are signed by the new key.
func TestTokenKeyRotation(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = dir, "admin-password-1", "http://127.0.0.1:1"
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func() *Server {
		a, err := New(t.Context(), cfg, WithLogger(log))
		require.NoError(t, err)
		return a
	}
	scope := []registry.Access{{Type: "repository", Name: "p/app", Actions: []string{"pull"}}}

	a := open()
	old, err := a.Tokens().Issue("alice", scope)
	require.NoError(t, err)
	oldKeyID := a.Tokens().KeyID()
	_ = a.Close(context.Background())

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "token-retired"), 0o700))
	require.NoError(t, os.Rename(filepath.Join(dir, "token.key"), filepath.Join(dir, "token-retired", "2026-11.key")))
	a = open()
	defer a.Close(context.Background())
	assert.NotEqual(t, oldKeyID, a.Tokens().KeyID(), "a new key signs")
	c, err := a.Tokens().Verify(old.Raw)
	require.NoError(t, err, "a token from the retired key still verifies")
	assert.Equal(t, "alice", c.Subject)
	fresh, err := a.Tokens().Issue("alice", scope)
	require.NoError(t, err)
	c, err = a.Tokens().Verify(fresh.Raw)
	require.NoError(t, err)
	assert.Equal(t, a.Tokens().KeyID(), c.KeyID)
}
