package auth

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"

	"github.com/berthlabs/berth/sqldb"
)

func TestAuthenticate(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		users := newTestUsers(t, db)
		_, err := users.Create(ctx, User{Name: "alice"}, "s3cret-pass")
		require.NoError(t, err)
		_, err = users.Onboard(ctx, "lucy", "", "", SourceLDAP)
		require.NoError(t, err)

		u, err := users.Authenticate(ctx, "Alice", "s3cret-pass")
		require.NoError(t, err)
		assert.Equal(t, "alice", u.Name)

		tests := map[string]struct{ name, password string }{
			"wrong password":      {"alice", "s3cret-pasS"},
			"empty password":      {"alice", ""},
			"unknown user":        {"mallory", "s3cret-pass"},
			"invalid name":        {"*)(uid=*", "s3cret-pass"},
			"empty name":          {"", ""},
			"external user":       {"lucy", "anything1"},
			"huge password":       {"alice", strings.Repeat("x", 1<<20)},
			"password with colon": {"alice:s3cret", "pass"},
		}
		for name, tt := range tests {
			t.Run(name, func(t *testing.T) {
				u, err := users.Authenticate(ctx, tt.name, tt.password)
				assert.Nil(t, u)
				assert.ErrorIs(t, err, ErrInvalidCredentials)
			})
		}
		// Unknown user and wrong password are the same error value.
		_, errUnknown := users.Authenticate(ctx, "mallory", "s3cret-pass")
		_, errWrong := users.Authenticate(ctx, "alice", "wrong-pass")
		assert.Equal(t, errUnknown, errWrong)
		assert.Equal(t, errUnknown.Error(), errWrong.Error())
		// External users can be told apart by the caller, for routing.
		_, err = users.Authenticate(ctx, "lucy", "x")
		assert.ErrorIs(t, err, ErrExternalUser)
	})
}

// Unknown users cost a hash too, so timing does not reveal existence. With
// default parameters a hash takes milliseconds; an unknown user answering
// in microseconds would stand out.
func TestAuthenticateUnknownUserCostsAHash(t *testing.T) {
	if testing.Short() {
		t.Skip("hashes with default parameters")
	}
	ctx := t.Context()
	users, err := NewUsers(ctx, memoryDB(t))
	require.NoError(t, err)
	_, err = users.Create(ctx, User{Name: "alice"}, "s3cret-pass")
	require.NoError(t, err)

	timeIt := func(name string) time.Duration {
		best := time.Hour
		for range 3 {
			start := time.Now()
			_, err := users.Authenticate(ctx, name, "wrong-pass")
			require.ErrorIs(t, err, ErrInvalidCredentials)
			best = min(best, time.Since(start))
		}
		return best
	}
	known, unknown := timeIt("alice"), timeIt("mallory")
	t.Logf("wrong password %v, unknown user %v", known, unknown)
	assert.Greater(t, unknown, known/3, "unknown user must cost about one hash")
}

func TestAuthenticateUpgradesBcrypt(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		users := newTestUsers(t, db)
		_, err := users.Create(ctx, User{Name: "imported"}, "temporary1")
		require.NoError(t, err)
		b, err := bcrypt.GenerateFromPassword([]byte("legacy-pass"), bcrypt.MinCost)
		require.NoError(t, err)
		setHash(t, db, "imported", string(b))

		_, err = users.Authenticate(ctx, "imported", "legacy-pass")
		require.NoError(t, err)
		hash := storedHash(t, db, "imported")
		assert.True(t, strings.HasPrefix(hash, "$argon2id$"), "rehashed after login: %s", hash)
		assert.False(t, NeedsRehash(hash, fastParams()))
		_, err = users.Authenticate(ctx, "imported", "legacy-pass")
		assert.NoError(t, err, "the new hash verifies")
	})
}

func TestAuthenticateMalformedStoredHash(t *testing.T) {
	ctx := t.Context()
	db := memoryDB(t)
	users := newTestUsers(t, db)
	_, err := users.Create(ctx, User{Name: "broken"}, "temporary1")
	require.NoError(t, err)
	setHash(t, db, "broken", "$argon2id$v=19$m=4294967295,t=1,p=1$AAAA$AAAA")
	_, err = users.Authenticate(ctx, "broken", "temporary1")
	assert.ErrorIs(t, err, ErrInvalidCredentials)
	assert.ErrorIs(t, err, ErrMalformedHash, "the log says why")
}

func setHash(t *testing.T, db *sqldb.DB, name, hash string) {
	t.Helper()
	require.NoError(t, db.Write(t.Context(), func(tx *sqldb.Tx) error {
		_, err := tx.Exec(t.Context(), `UPDATE auth_users SET password_hash = ? WHERE name = ?`, hash, name)
		return err
	}))
}

func storedHash(t *testing.T, db *sqldb.DB, name string) string {
	t.Helper()
	var h string
	require.NoError(t, db.QueryRow(t.Context(), `SELECT password_hash FROM auth_users WHERE name = ?`, name).Scan(&h))
	return h
}

func TestChangePassword(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clock := newFakeClock()
		users := newTestUsers(t, db, WithClock(clock.Now))
		_, err := users.Create(ctx, User{Name: "alice"}, "old-password")
		require.NoError(t, err)
		clock.Advance(time.Hour)

		tests := []struct {
			name     string
			old, new string
			wantErr  error
		}{
			{"wrong old", "not-the-old", "new-password", ErrInvalidCredentials},
			{"policy", "old-password", "short", ErrPasswordPolicy},
			{"same as old", "old-password", "old-password", ErrPasswordPolicy},
			{"ok", "old-password", "new-password", nil},
			{"old no longer works", "old-password", "third-password", ErrInvalidCredentials},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				err := users.ChangePassword(ctx, "alice", tt.old, tt.new)
				if tt.wantErr == nil {
					require.NoError(t, err)
				} else {
					assert.ErrorIs(t, err, tt.wantErr)
				}
			})
		}
		_, err = users.Authenticate(ctx, "alice", "new-password")
		require.NoError(t, err)
		u, err := users.Get(ctx, "alice")
		require.NoError(t, err)
		assert.Equal(t, clock.Now(), u.PasswordChangedAt)
		assert.True(t, u.CreatedAt.Before(u.PasswordChangedAt))

		assert.ErrorIs(t, users.ChangePassword(ctx, "nobody", "x-password", "y-password"), ErrInvalidCredentials)
	})
}

func TestSetPassword(t *testing.T) {
	ctx := t.Context()
	users := newTestUsers(t, memoryDB(t))
	_, err := users.Create(ctx, User{Name: "alice"}, "old-password")
	require.NoError(t, err)
	_, err = users.Onboard(ctx, "lucy", "", "", SourceLDAP)
	require.NoError(t, err)

	require.NoError(t, users.SetPassword(ctx, "alice", "reset-password"))
	_, err = users.Authenticate(ctx, "alice", "reset-password")
	assert.NoError(t, err)
	_, err = users.Authenticate(ctx, "alice", "old-password")
	assert.ErrorIs(t, err, ErrInvalidCredentials)

	assert.ErrorIs(t, users.SetPassword(ctx, "alice", "short"), ErrPasswordPolicy)
	assert.ErrorIs(t, users.SetPassword(ctx, "nobody", "reset-password"), ErrNotFound)
	assert.ErrorIs(t, users.SetPassword(ctx, "lucy", "reset-password"), ErrExternalUser)
}

func TestBootstrap(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		users := newTestUsers(t, db)

		created, err := users.Bootstrap(ctx, "", "")
		assert.False(t, created)
		assert.ErrorIs(t, err, ErrNoBootstrapPassword)
		assert.ErrorContains(t, err, "no built-in default password")

		_, err = users.Bootstrap(ctx, "admin", "short")
		assert.ErrorIs(t, err, ErrPasswordPolicy)

		created, err = users.Bootstrap(ctx, "", "first-admin-pw")
		require.NoError(t, err)
		assert.True(t, created)
		u, err := users.Authenticate(ctx, DefaultAdminName, "first-admin-pw")
		require.NoError(t, err)
		assert.True(t, u.SystemAdmin)

		// Later starts: an admin exists, nothing happens, and the
		// password may be gone from the environment.
		for _, pw := range []string{"first-admin-pw", "other-admin-pw", ""} {
			created, err = users.Bootstrap(ctx, "admin", pw)
			require.NoError(t, err)
			assert.False(t, created)
		}
		created, err = users.Bootstrap(ctx, "root", "other-admin-pw")
		require.NoError(t, err)
		assert.False(t, created, "only when no admin exists")
		_, err = users.Get(ctx, "root")
		assert.ErrorIs(t, err, ErrNotFound)
	})
}

func TestBootstrapDoesNotPromoteAnExistingUser(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		users := newTestUsers(t, db)
		_, err := users.Create(ctx, User{Name: "admin"}, "squatter-pw")
		require.NoError(t, err)
		created, err := users.Bootstrap(ctx, "admin", "real-admin-pw")
		assert.False(t, created)
		assert.ErrorIs(t, err, ErrExists)
		u, err := users.Get(ctx, "admin")
		require.NoError(t, err)
		assert.False(t, u.SystemAdmin)
	})
}

func TestOnboard(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clock := newFakeClock()
		users := newTestUsers(t, db, WithClock(clock.Now))
		_, err := users.Create(ctx, User{Name: "localadmin", SystemAdmin: true}, "password1")
		require.NoError(t, err)

		u, err := users.Onboard(ctx, "John.Doe@Corp.example", "john@corp.example", "John Doe", SourceLDAP)
		require.NoError(t, err)
		assert.Equal(t, "john.doe@corp.example", u.Name)
		assert.Equal(t, SourceLDAP, u.Source)
		assert.False(t, u.SystemAdmin)
		assert.True(t, u.PasswordChangedAt.IsZero())
		created := u.CreatedAt

		clock.Advance(time.Hour)
		u, err = users.Onboard(ctx, "john.doe@corp.example", "jd@corp.example", "J. Doe", SourceLDAP)
		require.NoError(t, err)
		assert.Equal(t, "jd@corp.example", u.Email, "attributes refreshed at each login")
		assert.Equal(t, "J. Doe", u.DisplayName)
		assert.Equal(t, created, u.CreatedAt)
		assert.Equal(t, clock.Now(), u.UpdatedAt)
		got, err := users.Get(ctx, "john.doe@corp.example")
		require.NoError(t, err)
		assert.Equal(t, u, got)

		u, err = users.Onboard(ctx, "weird", "not an email", "bell\x07", SourceLDAP)
		require.NoError(t, err, "bad directory attributes do not block a login")
		assert.Empty(t, u.Email)
		assert.Empty(t, u.DisplayName)

		_, err = users.Onboard(ctx, "localadmin", "", "", SourceLDAP)
		assert.ErrorIs(t, err, ErrExists, "a directory entry cannot take over a local account")
		_, err = users.Onboard(ctx, "x", "", "", SourceLocal)
		assert.ErrorIs(t, err, ErrInvalid)
		_, err = users.Onboard(ctx, "*)(uid=*", "", "", SourceLDAP)
		assert.ErrorIs(t, err, ErrInvalid)
		_, err = users.Onboard(ctx, "y", "", "", "LDAP!")
		assert.ErrorIs(t, err, ErrInvalid)

		_, err = users.Authenticate(ctx, "john.doe@corp.example", "")
		assert.True(t, errors.Is(err, ErrInvalidCredentials) && errors.Is(err, ErrExternalUser))
		assert.ErrorIs(t, users.ChangePassword(ctx, "john.doe@corp.example", "a-password", "b-password"), ErrExternalUser)
	})
}
