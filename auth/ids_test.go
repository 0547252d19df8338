package auth

import (
	"io/fs"
	"path"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/sqldb"
)

func TestUserIDsAreNeverReused(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		users := newTestUsers(t, db)
		a, err := users.Create(ctx, User{Name: "alice"}, "s3cret-pass")
		require.NoError(t, err)
		b, err := users.Create(ctx, User{Name: "bob"}, "s3cret-pass")
		require.NoError(t, err)
		require.Positive(t, a.ID)
		require.Greater(t, b.ID, a.ID)

		got, err := users.GetByID(ctx, b.ID)
		require.NoError(t, err)
		assert.Equal(t, b, got)
		byName, err := users.Get(ctx, "bob")
		require.NoError(t, err)
		assert.Equal(t, b.ID, byName.ID, "Get reads the id too")

		_, err = users.Create(ctx, User{Name: "bob"}, "s3cret-pass")
		require.ErrorIs(t, err, ErrExists)
		require.NoError(t, users.Delete(ctx, "bob"))
		_, err = users.GetByID(ctx, b.ID)
		require.ErrorIs(t, err, ErrNotFound)
		c, err := users.Create(ctx, User{Name: "bob"}, "s3cret-pass")
		require.NoError(t, err)
		assert.Greater(t, c.ID, b.ID, "a deleted user's id is not given to the next one, even under its name")

		ext, err := users.Onboard(ctx, "carol", "", "", SourceLDAP)
		require.NoError(t, err)
		assert.Greater(t, ext.ID, c.ID, "onboarded users are numbered too")

		for _, id := range []int64{0, -1, c.ID + 100} {
			_, err = users.GetByID(ctx, id)
			assert.ErrorIs(t, err, ErrNotFound, "id %d", id)
		}
	})
}

func TestRobotIDsAreNeverReused(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		robots := newTestRobots(t, db)
		a, _, err := robots.Create(ctx, Robot{Name: "a", Permissions: pushPull("library")})
		require.NoError(t, err)
		b, _, err := robots.Create(ctx, Robot{Name: "b", Permissions: pushPull("library")})
		require.NoError(t, err)
		require.Positive(t, a.ID)
		require.Greater(t, b.ID, a.ID)

		got, err := robots.GetByID(ctx, a.ID)
		require.NoError(t, err)
		assert.Equal(t, a, got)
		listed, _, err := robots.List(ctx, RobotFilter{})
		require.NoError(t, err)
		require.Len(t, listed, 2)
		assert.Equal(t, []int64{a.ID, b.ID}, []int64{listed[0].ID, listed[1].ID})

		require.NoError(t, robots.Delete(ctx, b.Name))
		_, err = robots.GetByID(ctx, b.ID)
		require.ErrorIs(t, err, ErrNotFound)
		c, _, err := robots.Create(ctx, Robot{Name: "b", Permissions: pushPull("library")})
		require.NoError(t, err)
		assert.Greater(t, c.ID, b.ID, "a deleted robot's id is not given to the next one")
		_, err = robots.GetByID(ctx, 0)
		assert.ErrorIs(t, err, ErrNotFound)
	})
}

// upTo keeps the migrations of fsys (an embed of migrations/<dialect>/)
// numbered at most max: the schema of an older release.
func upTo(t *testing.T, fsys fs.FS, max int) fs.FS {
	t.Helper()
	out := fstest.MapFS{}
	require.NoError(t, fs.WalkDir(fsys, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		num, _, _ := strings.Cut(path.Base(p), "_")
		if v, err := strconv.Atoi(num); err == nil && v <= max {
			b, err := fs.ReadFile(fsys, p)
			if err != nil {
				return err
			}
			out[p] = &fstest.MapFile{Data: b}
		}
		return nil
	}))
	require.NotEmpty(t, out)
	return out
}

// TestIDsBackfilledOnUpgrade stores users and robots with the schema of
// the release before ids, then opens the stores: the rows are numbered in
// creation order and new ones continue after them.
func TestIDsBackfilledOnUpgrade(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		require.NoError(t, db.MigrateDialect(ctx, "auth.users", upTo(t, usersMigrations, 1)))
		require.NoError(t, db.MigrateDialect(ctx, "auth.robots", upTo(t, robotsMigrations, 2)))
		// Created out of name order, two at the same instant.
		for _, u := range []struct {
			name    string
			created int64
		}{{"zed", 100}, {"amy", 300}, {"bob", 200}, {"abe", 200}} {
			require.NoError(t, db.Write(ctx, func(tx *sqldb.Tx) error {
				_, err := tx.Exec(ctx, `INSERT INTO auth_users (name, source, created_at, updated_at) VALUES (?, 'local', ?, ?)`,
					u.name, u.created, u.created)
				if err != nil {
					return err
				}
				_, err = tx.Exec(ctx, `INSERT INTO auth_robots (name, level, secret_hash, created_at, updated_at)
					VALUES (?, 'system', 'x', ?, ?)`, "robot$"+u.name, u.created, u.created)
				return err
			}))
		}

		users := newTestUsers(t, db)
		robots := newTestRobots(t, db)
		want := map[string]int64{"zed": 1, "abe": 2, "bob": 3, "amy": 4}
		for name, id := range want {
			u, err := users.GetByID(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, name, u.Name, "user id %d", id)
			r, err := robots.GetByID(ctx, id)
			require.NoError(t, err)
			assert.Equal(t, "robot$"+name, r.Name, "robot id %d", id)
		}
		u, err := users.Create(ctx, User{Name: "new"}, "s3cret-pass")
		require.NoError(t, err)
		assert.Equal(t, int64(5), u.ID, "the sequence continues after the backfilled rows")
		r, _, err := robots.Create(ctx, Robot{Name: "new", Permissions: pushPull("library")})
		require.NoError(t, err)
		assert.Equal(t, int64(5), r.ID)
	})
}

func TestUpdateProfile(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clock := newFakeClock()
		rec := &recorder{}
		users := newTestUsers(t, db, WithClock(clock.Now), WithChangeHook(rec.hook))
		_, err := users.Create(ctx, User{Name: "alice", Email: "a@example.com"}, "s3cret-pass")
		require.NoError(t, err)
		clock.Advance(1e9)

		u, err := users.UpdateProfile(ctx, "Alice", Profile{Email: "alice@example.com", DisplayName: "Alice A.", Comment: "ops\nteam"})
		require.NoError(t, err)
		assert.Equal(t, clock.Now(), u.UpdatedAt)
		got, err := users.Get(ctx, "alice")
		require.NoError(t, err)
		assert.Equal(t, u, got)
		assert.Equal(t, "ops\nteam", got.Comment)
		assert.Equal(t, ChangeUserProfile, rec.all()[len(rec.all())-1].Kind)

		_, err = users.UpdateProfile(ctx, "alice", Profile{Email: "not an address"})
		assert.ErrorIs(t, err, ErrInvalid)
		_, err = users.UpdateProfile(ctx, "alice", Profile{Comment: "bell\a"})
		assert.ErrorIs(t, err, ErrInvalid)
		_, err = users.UpdateProfile(ctx, "alice", Profile{Comment: strings.Repeat("x", MaxCommentLen+1)})
		assert.ErrorIs(t, err, ErrInvalid)
		_, err = users.UpdateProfile(ctx, "nobody", Profile{})
		assert.ErrorIs(t, err, ErrNotFound)

		_, err = users.Onboard(ctx, "dirk", "d@example.com", "", SourceLDAP)
		require.NoError(t, err)
		_, err = users.UpdateProfile(ctx, "dirk", Profile{Email: "x@example.com"})
		assert.ErrorIs(t, err, ErrExternalUser, "the directory owns an LDAP user's profile")
	})
}

func TestListUsersNameContains(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		users := newTestUsers(t, db)
		for _, n := range []string{"alice", "malik", "bob", "li_x"} {
			_, err := users.Create(ctx, User{Name: n}, "s3cret-pass")
			require.NoError(t, err)
		}
		names := func(f UserFilter) []string {
			us, total, err := users.List(ctx, f)
			require.NoError(t, err)
			var out []string
			for _, u := range us {
				out = append(out, u.Name)
			}
			assert.Equal(t, len(out), total)
			return out
		}
		assert.Equal(t, []string{"alice", "li_x", "malik"}, names(UserFilter{NameContains: "LI"}))
		assert.Equal(t, []string{"li_x"}, names(UserFilter{NameContains: "_"}), "LIKE wildcards match themselves")
		assert.Equal(t, []string{"malik"}, names(UserFilter{NamePrefix: "m", NameContains: "li"}))
	})
}

func TestListUsersOrderAndNames(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		users := newTestUsers(t, db)
		for _, u := range []User{{Name: "carol", Email: "A@x.org"}, {Name: "alice", Email: "c@y.org"}, {Name: "bob", Email: "b@x.org"}} {
			_, err := users.Create(ctx, u, "s3cret-pass")
			require.NoError(t, err)
		}
		names := func(f UserFilter) []string {
			us, total, err := users.List(ctx, f)
			require.NoError(t, err)
			var out []string
			for _, u := range us {
				out = append(out, u.Name)
			}
			assert.Equal(t, len(out), total)
			return out
		}
		assert.Equal(t, []string{"carol", "bob", "alice"}, names(UserFilter{Desc: true}))
		assert.Equal(t, []string{"carol", "alice", "bob"}, names(UserFilter{Order: UsersByCreated}))
		assert.Equal(t, []string{"bob", "alice", "carol"}, names(UserFilter{Order: UsersByID, Desc: true}))
		assert.Equal(t, []string{"alice", "bob", "carol"}, names(UserFilter{Order: UsersByEmail, Desc: true}))
		assert.Equal(t, []string{"bob", "carol"}, names(UserFilter{Names: []string{"Carol", "bob", "zed"}}))
		assert.Empty(t, names(UserFilter{Names: []string{}}))
		assert.Equal(t, []string{"bob", "carol"}, names(UserFilter{EmailContains: "X.ORG"}))
		_, _, err := users.List(ctx, UserFilter{Order: UserOrder(99)})
		assert.ErrorIs(t, err, ErrInvalid)
	})
}
