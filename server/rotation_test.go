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
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
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

// Nodes sharing a database and a secret key file (scale-out, no data
// directory) accept each other's tokens; a node with its own key (no
// secret key file) does not.
func TestTokenKeysSharedAcrossNodes(t *testing.T) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	node := func(secretFile string) *Server {
		db, err := sqldb.OpenSQLite(t.Context(), filepath.Join(dir, "shared.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		cfg := DefaultConfig()
		cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", "admin-password-1", "http://127.0.0.1:1"
		cfg.SecretKeyFile = secretFile
		cfg.Scan.Enabled, cfg.Trust.Enabled, cfg.Charts.Enabled = false, false, false
		s, err := New(t.Context(), cfg, WithLogger(log), WithStorage(memory.New()), WithDatabase(db))
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		return s
	}
	secret := filepath.Join(dir, "secret.key")
	a, b, loner := node(secret), node(secret), node("")
	scope := []registry.Access{{Type: "repository", Name: "p/app", Actions: []string{"pull"}}}
	tok, err := a.Tokens().Issue("alice", scope)
	require.NoError(t, err)
	c, err := b.Tokens().Verify(tok.Raw)
	require.NoError(t, err, "node b accepts node a's token")
	assert.Equal(t, "alice", c.Subject)
	assert.Equal(t, a.Tokens().KeyID(), b.Tokens().KeyID())
	_, err = loner.Tokens().Verify(tok.Raw)
	assert.Error(t, err, "a node with a key of its own does not")
}
