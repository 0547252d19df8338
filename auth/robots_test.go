package auth

import (
	"context"
	"encoding/base64"
	"fmt"
	"github.com/berthlabs/berth/core"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
)

func newTestRobots(t testing.TB, db *sqldb.DB, opts ...StoreOption) *Robots {
	s, err := NewRobots(context.Background(), db, opts...)
	require.NoError(t, err)
	return s
}

func pushPull(project string) []RobotPermission {
	return []RobotPermission{
		{Project: project, Resource: "repository", Action: "pull"},
		{Project: project, Resource: "repository", Action: "push"},
	}
}

func TestRobotCreateAndGet(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		clock := newFakeClock()
		robots := newTestRobots(t, db, WithClock(clock.Now))
		ctx := registry.WithActor(t.Context(), "alice")

		r, secret, err := robots.Create(ctx, Robot{Name: "ci", Project: "library", Description: "CI pushes",
			Permissions: []RobotPermission{{Resource: "repository", Action: "push"}}})
		require.NoError(t, err)
		assert.Equal(t, "robot$library+ci", r.Name)
		assert.Equal(t, RobotProject, r.Level)
		assert.Equal(t, "alice", r.CreatedBy, "the actor from the context")
		assert.Equal(t, clock.Now(), r.CreatedAt)
		assert.Equal(t, []RobotPermission{{Project: "library", Resource: "repository", Action: "push"}}, r.Permissions,
			"a project robot's permissions are in its project")

		raw, err := base64.RawURLEncoding.DecodeString(secret)
		require.NoError(t, err, "secret is base64url text: %q", secret)
		assert.Len(t, raw, 32)

		got, err := robots.Get(ctx, "robot$library+ci")
		require.NoError(t, err)
		assert.Equal(t, r, got)

		_, _, err = robots.Create(ctx, Robot{Name: "robot$library+ci"})
		assert.ErrorIs(t, err, ErrExists, "the full name is accepted too")

		sys, _, err := robots.Create(ctx, Robot{Name: "scanner", CreatedBy: "system",
			Permissions: []RobotPermission{{Project: AllProjects, Resource: "scan", Action: "create"}}})
		require.NoError(t, err)
		assert.Equal(t, "robot$scanner", sys.Name)
		assert.Equal(t, RobotSystem, sys.Level)
		assert.Equal(t, "system", sys.CreatedBy)

		_, err = robots.Get(ctx, "robot$nope")
		assert.ErrorIs(t, err, ErrNotFound)
	})
}

func TestRobotPermissionsRoundTrip(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		robots := newTestRobots(t, db)
		perms := []RobotPermission{
			{Project: AllProjects, Resource: "repository", Action: "pull"},
			{Project: "library", Resource: "repository", Action: "push"},
			{Project: "team-a", Resource: "artifact-label", Action: "create"},
			{Project: "team-a", Resource: "helm-chart-version", Action: "*"},
		}
		r, secret, err := robots.Create(ctx, Robot{Name: "replicator", Permissions: perms})
		require.NoError(t, err)
		assert.Equal(t, perms, r.Permissions)

		got, err := robots.Get(ctx, r.Name)
		require.NoError(t, err)
		assert.Equal(t, perms, got.Permissions)
		authed, err := robots.Authenticate(ctx, r.Name, secret)
		require.NoError(t, err)
		assert.Equal(t, perms, authed.Permissions)

		var raw string
		require.NoError(t, db.QueryRow(ctx, `SELECT permissions FROM auth_robots WHERE name = ?`, r.Name).Scan(&raw))
		assert.JSONEq(t, `[{"project":"*","resource":"repository","action":"pull"},
			{"project":"library","resource":"repository","action":"push"},
			{"project":"team-a","resource":"artifact-label","action":"create"},
			{"project":"team-a","resource":"helm-chart-version","action":"*"}]`, raw)

		empty, _, err := robots.Create(ctx, Robot{Name: "idle"})
		require.NoError(t, err)
		got, err = robots.Get(ctx, empty.Name)
		require.NoError(t, err)
		assert.Equal(t, []RobotPermission{}, got.Permissions)
	})
}

func TestRobotValidation(t *testing.T) {
	clock := newFakeClock()
	robots := newTestRobots(t, memoryDB(t), WithClock(clock.Now))
	perm := func(project, resource, action string) []RobotPermission {
		return []RobotPermission{{Project: project, Resource: resource, Action: action}}
	}
	tests := []struct {
		name  string
		robot Robot
		ok    bool
	}{
		{"system", Robot{Name: "a"}, true},
		{"project", Robot{Name: "b", Project: "p"}, true},
		{"dots and dashes", Robot{Name: "ci.build-x_1", Project: "team.a"}, true},
		{"full name", Robot{Name: "robot$p+c"}, true},
		{"colon", Robot{Name: "a:b"}, false},
		{"control", Robot{Name: "a\nb"}, false},
		{"tab", Robot{Name: "a\tb"}, false},
		{"dollar", Robot{Name: "a$b"}, false},
		{"plus", Robot{Name: "a+b"}, false},
		{"upper", Robot{Name: "CI"}, false},
		{"empty", Robot{Name: ""}, false},
		{"double separator", Robot{Name: "a..b"}, false},
		{"trailing separator", Robot{Name: "a-"}, false},
		{"too long", Robot{Name: strings.Repeat("a", 250), Project: "project"}, false},
		{"project colon", Robot{Name: "a", Project: "p:q"}, false},
		{"full name wrong project", Robot{Name: "robot$p+d", Project: "q"}, false},
		{"bad full name", Robot{Name: "robot$p+q+r"}, false},
		{"system with project", Robot{Name: "a", Level: RobotSystem, Project: "p"}, false},
		{"project without project", Robot{Name: "a", Level: RobotProject}, false},
		{"unknown level", Robot{Name: "a", Level: "global"}, false},
		{"expired at creation", Robot{Name: "e", ExpiresAt: clock.Now()}, false},
		{"future expiry", Robot{Name: "f", ExpiresAt: clock.Now().Add(time.Minute)}, true},
		{"year 9999 for never", Robot{Name: "f2", ExpiresAt: time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC)}, false},
		{"long description", Robot{Name: "g", Description: strings.Repeat("d", 1025)}, false},
		{"control in description", Robot{Name: "g", Description: "\x1b[31m"}, false},
		{"all projects on project robot", Robot{Name: "h", Project: "p", Permissions: perm("*", "repository", "pull")}, false},
		{"other project on project robot", Robot{Name: "h", Project: "p", Permissions: perm("q", "repository", "pull")}, false},
		{"system perm without project", Robot{Name: "i", Permissions: perm("", "repository", "pull")}, false},
		{"empty action", Robot{Name: "i", Permissions: perm("*", "repository", "")}, false},
		{"space in resource", Robot{Name: "i", Permissions: perm("*", "repo sitory", "pull")}, false},
		{"too many permissions", Robot{Name: "i", Permissions: make([]RobotPermission, MaxRobotPermissions+1)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := robots.Create(t.Context(), tt.robot)
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.ErrorIs(t, err, ErrInvalid)
			}
		})
	}
}

func TestRobotList(t *testing.T) {
	forEachDB(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		robots := newTestRobots(t, db)
		for _, r := range []Robot{
			{Name: "a", Project: "library"}, {Name: "b", Project: "library"}, {Name: "c", Project: "library"},
			{Name: "a", Project: "team"}, {Name: "sys1"}, {Name: "sys2"},
		} {
			_, _, err := robots.Create(ctx, r)
			require.NoError(t, err)
		}
		tests := []struct {
			filter RobotFilter
			want   []string
			total  int
		}{
			{RobotFilter{Project: "library"}, []string{"robot$library+a", "robot$library+b", "robot$library+c"}, 3},
			{RobotFilter{Project: "library", Page: core.Page{Limit: 2}}, []string{"robot$library+a", "robot$library+b"}, 3},
			{RobotFilter{Project: "library", Page: core.Page{Offset: 2, Limit: 2}}, []string{"robot$library+c"}, 3},
			{RobotFilter{Project: "team"}, []string{"robot$team+a"}, 1},
			{RobotFilter{Project: "none"}, []string{}, 0},
			{RobotFilter{Level: RobotSystem}, []string{"robot$sys1", "robot$sys2"}, 2},
			{RobotFilter{Level: RobotProject, Page: core.Page{Limit: 1}}, []string{"robot$library+a"}, 4},
			{RobotFilter{}, []string{"robot$library+a", "robot$library+b", "robot$library+c", "robot$sys1", "robot$sys2", "robot$team+a"}, 6},
		}
		for _, tt := range tests {
			t.Run(fmt.Sprintf("%+v", tt.filter), func(t *testing.T) {
				got, total, err := robots.List(ctx, tt.filter)
				require.NoError(t, err)
				names := []string{}
				for _, r := range got {
					names = append(names, r.Name)
				}
				assert.Equal(t, tt.want, names)
				assert.Equal(t, tt.total, total)
			})
		}
	})
}

func TestRobotUpdateAndDelete(t *testing.T) {
	OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		ctx := t.Context()
		clock := newFakeClock()
		robots := newTestRobots(t, db, WithClock(clock.Now))
		r, secret, err := robots.Create(ctx, Robot{Name: "ci", Project: "library", Permissions: pushPull("library")})
		require.NoError(t, err)

		clock.Advance(time.Minute)
		desc := "pull only"
		perms := []RobotPermission{{Resource: "repository", Action: "pull"}}
		exp := clock.Now().Add(48 * time.Hour)
		got, err := robots.Update(ctx, r.Name, RobotUpdate{Description: &desc, Permissions: &perms, ExpiresAt: &exp})
		require.NoError(t, err)
		assert.Equal(t, "pull only", got.Description)
		assert.Equal(t, []RobotPermission{{Project: "library", Resource: "repository", Action: "pull"}}, got.Permissions)
		assert.Equal(t, exp, got.ExpiresAt)
		assert.Equal(t, clock.Now(), got.UpdatedAt)
		assert.Equal(t, r.CreatedAt, got.CreatedAt)
		stored, err := robots.Get(ctx, r.Name)
		require.NoError(t, err)
		assert.Equal(t, got, stored)

		bad := []RobotPermission{{Project: "*", Resource: "repository", Action: "pull"}}
		_, err = robots.Update(ctx, r.Name, RobotUpdate{Permissions: &bad})
		assert.ErrorIs(t, err, ErrInvalid)
		_, err = robots.Update(ctx, "robot$nope", RobotUpdate{Description: &desc})
		assert.ErrorIs(t, err, ErrNotFound)

		_, err = robots.Authenticate(ctx, r.Name, secret)
		require.NoError(t, err, "updates keep the secret")
		require.NoError(t, robots.Delete(ctx, r.Name))
		_, err = robots.Authenticate(ctx, r.Name, secret)
		assert.ErrorIs(t, err, ErrInvalidCredentials)
		assert.ErrorIs(t, robots.Delete(ctx, r.Name), ErrNotFound)
	})
}

func TestRobotNames(t *testing.T) {
	tests := []struct {
		full, project, name string
		ok                  bool
	}{
		{"robot$ci", "", "ci", true},
		{"robot$library+ci", "library", "ci", true},
		{"robot$a.b+c-d", "a.b", "c-d", true},
		{"ci", "", "", false},
		{"robot$", "", "", false},
		{"robot$+ci", "", "", false},
		{"robot$p+", "", "", false},
		{"robot$p+q+r", "", "", false},
		{"robot$a:b", "", "", false},
		{"robot$a\x00", "", "", false},
		{"Robot$ci", "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.full, func(t *testing.T) {
			project, name, err := ParseRobotName(tt.full)
			if !tt.ok {
				assert.ErrorIs(t, err, ErrInvalid)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.project, project)
			assert.Equal(t, tt.name, name)
			assert.Equal(t, tt.full, RobotName(project, name))
		})
	}
}

func TestRobotExpiry(t *testing.T) {
	now := newFakeClock().Now()
	never, err := RobotExpiry(now, -1)
	require.NoError(t, err)
	assert.True(t, never.IsZero())
	in30, err := RobotExpiry(now, 30)
	require.NoError(t, err)
	assert.Equal(t, now.AddDate(0, 0, 30), in30)
	for _, d := range []int{0, -2, 1 << 30} {
		_, err := RobotExpiry(now, d)
		assert.ErrorIs(t, err, ErrInvalid, d)
	}
}
