package main

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
)

// Rotating the token key: tokens signed by the retired key keep working
// until they expire, new tokens are signed by the new key.
func TestTokenKeyRotation(t *testing.T) {
	t.Setenv(adminPasswordEnv, "admin-password-1")
	dir := t.TempDir()
	cfg := config{dataDir: dir, auth: true, externalURL: "http://127.0.0.1:1", maxManifest: 4 << 20, uploadMaxAge: time.Hour}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	open := func() *app {
		ctx, cancel := context.WithCancel(context.Background())
		a, err := newApp(ctx, cfg, log)
		require.NoError(t, err)
		t.Cleanup(cancel)
		return a
	}
	scope := []registry.Access{{Type: "repository", Name: "p/app", Actions: []string{"pull"}}}

	a := open()
	old, err := a.id.tokens.Issue("alice", scope)
	require.NoError(t, err)
	oldKeyID := a.id.tokens.KeyID()
	a.close(log)

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "token-retired"), 0o700))
	require.NoError(t, os.Rename(filepath.Join(dir, "token.key"), filepath.Join(dir, "token-retired", "2026-11.key")))
	a = open()
	defer a.close(log)
	assert.NotEqual(t, oldKeyID, a.id.tokens.KeyID(), "a new key signs")
	c, err := a.id.tokens.Verify(old.Raw)
	require.NoError(t, err, "a token from the retired key still verifies")
	assert.Equal(t, "alice", c.Subject)
	fresh, err := a.id.tokens.Issue("alice", scope)
	require.NoError(t, err)
	c, err = a.id.tokens.Verify(fresh.Raw)
	require.NoError(t, err)
	assert.Equal(t, a.id.tokens.KeyID(), c.KeyID)
}
