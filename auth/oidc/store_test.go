package oidc

import (
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/internal/seal"
	"github.com/berthlabs/berth/sqldb"
)

func TestLinks(t *testing.T) {
	onEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		key := make([]byte, seal.KeySize)
		_, _ = rand.Read(key)
		sealer, err := seal.New(key)
		require.NoError(t, err)
		c := newClock()
		links, err := NewLinks(ctx, db, sealer, c.now)
		require.NoError(t, err)
		_, err = NewLinks(ctx, db, sealer, c.now) // migrations apply once
		require.NoError(t, err)

		l := Link{Username: "Alice", Issuer: "https://idp", Subject: "s1", Groups: []string{"a"}}
		require.NoError(t, links.create(ctx, l, "refresh-1", "Secret-one-1"))
		require.ErrorIs(t, links.create(ctx, Link{Username: "alice", Issuer: "https://idp", Subject: "s2"}, "", "x"), auth.ErrExists)
		require.ErrorIs(t, links.create(ctx, Link{Username: "other", Issuer: "https://idp", Subject: "s1"}, "", "x"), auth.ErrExists)
		require.NoError(t, links.create(ctx, Link{Username: "carol", Issuer: "https://other-idp", Subject: "s1"}, "", "x"))

		got, err := links.bySubject(ctx, "https://idp", "s1")
		require.NoError(t, err)
		require.Equal(t, "alice", got.Username)
		require.Equal(t, "refresh-1", got.refresh)
		require.Equal(t, "Secret-one-1", got.secret)

		// Sealed at rest: neither value is readable in the table.
		var secret, refresh string
		require.NoError(t, db.QueryRow(ctx, `SELECT secret, refresh_token FROM oidc_users WHERE username = ?`, "alice").
			Scan(&secret, &refresh))
		require.NotContains(t, secret, "Secret-one-1")
		require.NotContains(t, refresh, "refresh-1")

		c.advance(1e9)
		require.NoError(t, links.update(ctx, "alice", []string{"b", "c"}, true, ""))
		got, err = links.byUser(ctx, "ALICE")
		require.NoError(t, err)
		require.Equal(t, []string{"b", "c"}, got.Groups)
		require.True(t, got.Admin)
		require.Equal(t, "refresh-1", got.refresh, "kept when the provider sent none")
		require.Equal(t, c.now().UnixNano(), got.CheckedAt.UnixNano())

		require.NoError(t, links.refuse(ctx, "alice"))
		got, err = links.byUser(ctx, "alice")
		require.NoError(t, err)
		require.True(t, got.Refused)
		require.False(t, got.Admin)
		require.NoError(t, links.update(ctx, "alice", nil, false, "refresh-2"))
		got, err = links.byUser(ctx, "alice")
		require.NoError(t, err)
		require.False(t, got.Refused)
		require.Equal(t, "refresh-2", got.refresh)
		require.Equal(t, []string{}, got.Groups)

		require.NoError(t, links.SetSecret(ctx, "alice", "Secret-two-2"))
		s, err := links.Secret(ctx, "alice")
		require.NoError(t, err)
		require.Equal(t, "Secret-two-2", s)
		require.ErrorIs(t, links.SetSecret(ctx, "nobody", "Secret-two-2"), auth.ErrNotFound)

		// A key that is not the one that sealed cannot read the values.
		other, err := seal.New(make([]byte, seal.KeySize))
		require.NoError(t, err)
		wrong, err := NewLinks(ctx, db, other, c.now)
		require.NoError(t, err)
		_, err = wrong.Secret(ctx, "alice")
		require.ErrorIs(t, err, seal.ErrWrongKey)

		require.NoError(t, links.Forget(ctx, "alice"))
		require.NoError(t, links.Forget(ctx, "alice"))
		_, err = links.Get(ctx, "alice")
		require.ErrorIs(t, err, auth.ErrNotFound)
		require.NoError(t, links.create(ctx, Link{Username: "alice2", Issuer: "https://idp", Subject: "s1"}, "", "x"),
			"the identity can be linked again once its user is gone")
	})
}
