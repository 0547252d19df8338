package auth

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
)

// The secret is shown once and never stored: read every column of every
// row and look for it, in clear and in its raw bytes' other encodings.
func TestRobotSecretNeverStored(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		robots := newTestRobots(t, db)
		_, secret, err := robots.Create(ctx, Robot{Name: "ci", Project: "library", Permissions: pushPull("library")})
		require.NoError(t, err)
		refreshed, err := robots.Refresh(ctx, "robot$library+ci")
		require.NoError(t, err)

		for _, s := range []string{secret, refreshed} {
			raw, err := base64.RawURLEncoding.DecodeString(s)
			require.NoError(t, err)
			needles := []string{s, base64.RawStdEncoding.EncodeToString(raw), fmt.Sprintf("%x", raw), string(raw)}
			for _, cell := range allCells(t, db, "auth_robots") {
				for _, n := range needles {
					assert.NotContains(t, cell, n)
				}
			}
		}
	})
}

func flipLast(s string) string {
	last := byte('A')
	if s[len(s)-1] == last {
		last = 'B'
	}
	return s[:len(s)-1] + string(last)
}

// allCells returns every column of every row of table as text.
func allCells(t *testing.T, db *sqldb.DB, table string) []string {
	t.Helper()
	rows, err := db.Query(t.Context(), `SELECT * FROM `+table)
	require.NoError(t, err)
	defer rows.Close()
	cols, err := rows.Columns()
	require.NoError(t, err)
	var out []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		require.NoError(t, rows.Scan(ptrs...))
		for _, v := range vals {
			out = append(out, fmt.Sprint(v))
			if b, ok := v.([]byte); ok {
				out = append(out, string(b))
			}
		}
	}
	require.NoError(t, rows.Err())
	require.NotEmpty(t, out)
	return out
}

func TestRobotAuthenticate(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clock := newFakeClock()
		robots := newTestRobots(t, db, WithClock(clock.Now))
		expires := clock.Now().Add(24 * time.Hour)
		r, secret, err := robots.Create(ctx, Robot{Name: "ci", Project: "library", Permissions: pushPull(""), ExpiresAt: expires})
		require.NoError(t, err)

		got, err := robots.Authenticate(ctx, r.Name, secret)
		require.NoError(t, err)
		assert.Equal(t, r.Permissions, got.Permissions)

		tests := map[string]struct{ name, secret string }{
			"wrong secret":    {r.Name, flipLast(secret)},
			"empty secret":    {r.Name, ""},
			"secret prefix":   {r.Name, secret[:20]},
			"unknown robot":   {"robot$library+other", secret},
			"not a robot":     {"alice", secret},
			"other project":   {"robot$other+ci", secret},
			"huge secret":     {r.Name, strings.Repeat("x", 1<<16)},
			"secret suffixed": {r.Name, secret + "x"},
		}
		for name, tt := range tests {
			t.Run(name, func(t *testing.T) {
				_, err := robots.Authenticate(ctx, tt.name, tt.secret)
				assert.ErrorIs(t, err, ErrInvalidCredentials)
			})
		}

		// Disabled: only a caller holding the secret learns it.
		disabled := true
		_, err = robots.Update(ctx, r.Name, RobotUpdate{Disabled: &disabled})
		require.NoError(t, err)
		_, err = robots.Authenticate(ctx, r.Name, secret)
		assert.ErrorIs(t, err, ErrDisabled)
		_, err = robots.Authenticate(ctx, r.Name, "wrong")
		assert.ErrorIs(t, err, ErrInvalidCredentials)
		disabled = false
		_, err = robots.Update(ctx, r.Name, RobotUpdate{Disabled: &disabled})
		require.NoError(t, err)

		// Expiry follows the injected clock.
		clock.Advance(24*time.Hour - time.Second)
		_, err = robots.Authenticate(ctx, r.Name, secret)
		require.NoError(t, err, "one second before expiry")
		clock.Advance(time.Second)
		_, err = robots.Authenticate(ctx, r.Name, secret)
		assert.ErrorIs(t, err, ErrExpired)
		_, err = robots.Authenticate(ctx, r.Name, "wrong")
		assert.ErrorIs(t, err, ErrInvalidCredentials)

		// Extending the expiry brings it back; zero means never.
		never := time.Time{}
		_, err = robots.Update(ctx, r.Name, RobotUpdate{ExpiresAt: &never})
		require.NoError(t, err)
		clock.Advance(100 * 365 * 24 * time.Hour)
		_, err = robots.Authenticate(ctx, r.Name, secret)
		assert.NoError(t, err)
	})
}

func TestRobotRefreshInvalidatesOldSecret(t *testing.T) {
	ctx := t.Context()
	robots := newTestRobots(t, memoryDB(t))
	r, old, err := robots.Create(ctx, Robot{Name: "ci"})
	require.NoError(t, err)
	fresh, err := robots.Refresh(ctx, r.Name)
	require.NoError(t, err)
	assert.NotEqual(t, old, fresh)

	_, err = robots.Authenticate(ctx, r.Name, old)
	assert.ErrorIs(t, err, ErrInvalidCredentials)
	_, err = robots.Authenticate(ctx, r.Name, fresh)
	assert.NoError(t, err)

	_, err = robots.Refresh(ctx, "robot$nope")
	assert.ErrorIs(t, err, ErrNotFound)
}
