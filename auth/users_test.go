package auth

import (
	"context"
	"fmt"
	"github.com/berthlabs/berth/core"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
)

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// recorder collects changes from a change hook.
type recorder struct {
	mu      sync.Mutex
	changes []Change
}

func (r *recorder) hook(_ context.Context, c Change) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.changes = append(r.changes, c)
}

func (r *recorder) all() []Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Change(nil), r.changes...)
}

func newTestUsers(t testing.TB, db *sqldb.DB, opts ...StoreOption) *Users {
	s, err := NewUsers(context.Background(), db, append([]StoreOption{WithHashParams(fastParams())}, opts...)...)
	require.NoError(t, err)
	return s
}

func TestUserCRUD(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clock := newFakeClock()
		users := newTestUsers(t, db, WithClock(clock.Now))

		u, err := users.Create(ctx, User{Name: "Alice", Email: "alice@example.com", DisplayName: "Alice A."}, "s3cret-pass")
		require.NoError(t, err)
		assert.Equal(t, "alice", u.Name, "names are folded to lower case")
		assert.Equal(t, SourceLocal, u.Source)
		assert.Equal(t, clock.Now(), u.CreatedAt)
		assert.Equal(t, clock.Now(), u.PasswordChangedAt)

		got, err := users.Get(ctx, "ALICE")
		require.NoError(t, err)
		assert.Equal(t, u, got)

		_, err = users.Create(ctx, User{Name: "alice"}, "another-pass")
		assert.ErrorIs(t, err, ErrExists)

		_, err = users.Get(ctx, "bob")
		assert.ErrorIs(t, err, ErrNotFound)

		require.NoError(t, users.Delete(ctx, "alice"))
		_, err = users.Get(ctx, "alice")
		assert.ErrorIs(t, err, ErrNotFound)
		assert.ErrorIs(t, users.Delete(ctx, "alice"), ErrNotFound)
	})
}

func TestUsersReopenFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "auth.db")
	ctx := t.Context()
	db, err := sqldb.OpenSQLite(ctx, path)
	require.NoError(t, err)
	users := newTestUsers(t, db)
	_, err = users.Create(ctx, User{Name: "alice"}, "s3cret-pass")
	require.NoError(t, err)
	require.NoError(t, db.Close())

	db, err = sqldb.OpenSQLite(ctx, path)
	require.NoError(t, err)
	defer db.Close()
	users = newTestUsers(t, db) // migrations run again: a no-op
	_, err = users.Authenticate(ctx, "alice", "s3cret-pass")
	assert.NoError(t, err)
}

func TestUserValidation(t *testing.T) {
	users := newTestUsers(t, memoryDB(t))
	tests := []struct {
		name     string
		user     User
		password string
		wantErr  error
	}{
		{"ok plain", User{Name: "bob"}, "password1", nil},
		{"ok ldap style", User{Name: "first.last@example.com"}, "password1", nil},
		{"ok digits and dashes", User{Name: "ci-bot_2"}, "password1", nil},
		{"ok unicode letters", User{Name: "josé"}, "password1", nil},
		{"ok email", User{Name: "carol", Email: "carol@example.com"}, "password1", nil},
		{"empty name", User{Name: ""}, "password1", ErrInvalid},
		{"too long", User{Name: strings.Repeat("a", 256)}, "password1", ErrInvalid},
		{"colon", User{Name: "a:b"}, "password1", ErrInvalid},
		{"dollar (robot prefix)", User{Name: "robot$ci"}, "password1", ErrInvalid},
		{"space", User{Name: "a b"}, "password1", ErrInvalid},
		{"control", User{Name: "a\x00b"}, "password1", ErrInvalid},
		{"newline", User{Name: "a\nb"}, "password1", ErrInvalid},
		{"slash", User{Name: "a/b"}, "password1", ErrInvalid},
		{"ldap filter", User{Name: "*)(uid=*"}, "password1", ErrInvalid},
		{"leading dot", User{Name: ".hidden"}, "password1", ErrInvalid},
		{"leading dash", User{Name: "-rf"}, "password1", ErrInvalid},
		{"invalid utf-8", User{Name: "a\xffb"}, "password1", ErrInvalid},
		{"bad email", User{Name: "dave", Email: "not an email"}, "password1", ErrInvalid},
		{"email with name", User{Name: "dave", Email: "Dave <dave@example.com>"}, "password1", ErrInvalid},
		{"control in display name", User{Name: "dave", DisplayName: "D\x07"}, "password1", ErrInvalid},
		{"ldap source", User{Name: "dave", Source: SourceLDAP}, "password1", ErrInvalid},
		{"short password", User{Name: "dave"}, "short", ErrPasswordPolicy},
		{"long password", User{Name: "dave"}, strings.Repeat("p", 129), ErrPasswordPolicy},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := users.Create(t.Context(), tt.user, tt.password)
			if tt.wantErr == nil {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, tt.wantErr)
			}
		})
	}
}

func TestUserList(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		users := newTestUsers(t, db)
		for _, n := range []string{"dev1", "dev2", "dev3", "ops1", "d_x", "dzx"} {
			_, err := users.Create(ctx, User{Name: n}, "password1")
			require.NoError(t, err)
		}
		tests := []struct {
			filter UserFilter
			want   []string
			total  int
		}{
			{UserFilter{}, []string{"d_x", "dev1", "dev2", "dev3", "dzx", "ops1"}, 6},
			{UserFilter{NamePrefix: "dev"}, []string{"dev1", "dev2", "dev3"}, 3},
			{UserFilter{NamePrefix: "DEV", Page: core.Page{Limit: 2}}, []string{"dev1", "dev2"}, 3},
			{UserFilter{NamePrefix: "dev", Page: core.Page{Offset: 2, Limit: 2}}, []string{"dev3"}, 3},
			{UserFilter{NamePrefix: "d_"}, []string{"d_x"}, 1}, // '_' is not a wildcard
			{UserFilter{NamePrefix: "%"}, []string{}, 0},
			{UserFilter{NamePrefix: "zzz"}, []string{}, 0},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%+v", tt.filter), func(t *testing.T) {
				got, total, err := users.List(ctx, tt.filter)
				require.NoError(t, err)
				names := []string{}
				for _, u := range got {
					names = append(names, u.Name)
				}
				assert.Equal(t, tt.want, names)
				assert.Equal(t, tt.total, total)
			})
		}
		_, _, err := users.List(ctx, UserFilter{Page: core.Page{Offset: -1}})
		assert.ErrorIs(t, err, ErrInvalid)
	})
}

func TestSetSystemAdminAndLastAdmin(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		users := newTestUsers(t, db)
		_, err := users.Create(ctx, User{Name: "root", SystemAdmin: true}, "password1")
		require.NoError(t, err)
		_, err = users.Create(ctx, User{Name: "bob"}, "password1")
		require.NoError(t, err)

		assert.ErrorIs(t, users.SetSystemAdmin(ctx, "root", false), ErrLastAdmin)
		assert.ErrorIs(t, users.Delete(ctx, "root"), ErrLastAdmin)
		assert.ErrorIs(t, users.SetSystemAdmin(ctx, "nobody", true), ErrNotFound)

		require.NoError(t, users.SetSystemAdmin(ctx, "bob", true))
		bob, err := users.Get(ctx, "bob")
		require.NoError(t, err)
		assert.True(t, bob.SystemAdmin)

		require.NoError(t, users.SetSystemAdmin(ctx, "root", false), "bob is admin now")
		require.NoError(t, users.Delete(ctx, "root"))
		assert.ErrorIs(t, users.SetSystemAdmin(ctx, "bob", false), ErrLastAdmin)
	})
}

func TestNewUsersNeedsDBAndValidParams(t *testing.T) {
	_, err := NewUsers(t.Context(), nil)
	assert.ErrorContains(t, err, "database is required")
	_, err = NewUsers(t.Context(), memoryDB(t), WithHashParams(HashParams{}))
	assert.Error(t, err)
}
