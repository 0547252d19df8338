package oidc

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/token"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/sqldb"
)

// gatekeeper is the real Gatekeeper with the Service as its external
// authenticator, over the rp's users and a project store where group
// "devs" is a developer of project "team".
func gatekeeper(t *testing.T, r *rp, db *sqldb.DB) *auth.Gatekeeper {
	t.Helper()
	ctx := t.Context()
	projects, err := project.NewStore(ctx, db)
	require.NoError(t, err)
	robots, err := auth.NewRobots(ctx, db, auth.WithProjects(projects))
	require.NoError(t, err)
	_, err = projects.Create(ctx, project.Project{Name: "team", Owner: "admin"},
		project.Member{Subject: "group:devs", Role: string(rbac.Developer)})
	require.NoError(t, err)
	key, err := token.GenerateKey()
	require.NoError(t, err)
	tokens, err := token.New("berth", "berth", token.WithSigningKey(key, ""))
	require.NoError(t, err)
	return auth.NewGatekeeper(r.users, robots, projects, auth.NewPolicy(api.PolicyLoader(projects, robots)), tokens,
		r.srv.URL+"/service/token", auth.WithExternalAuthenticator(r.svc), auth.WithExternalGroups(r.svc),
		auth.WithLoginThrottle(auth.LoginThrottle{}))
}

func basic(user, pass string) *http.Request {
	req, _ := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://berth/v2/", nil)
	req.SetBasicAuth(user, pass)
	return req
}

func TestCLISecretLogsInWithGroupsAndAdminGroup(t *testing.T) {
	onEngines(t, func(t *testing.T, db *sqldb.DB) {
		r := newRP(t, db, nil)
		r.idp.AddUser("u1", "alice", "alice-pw", "devs")
		r.idp.AddUser("u2", "bob", "bob-pw", "admins")
		for _, u := range []string{"alice", "bob"} {
			resp, body := r.login(browser(t), u, u+"-pw")
			require.Equal(t, http.StatusOK, resp.StatusCode, body)
		}
		gk := gatekeeper(t, r, db)
		ctx := t.Context()
		push := rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPush}

		secret, err := r.svc.CLISecret(ctx, "alice")
		require.NoError(t, err)
		p, err := gk.Principal(basic("alice", secret))
		require.NoError(t, err, "docker login -u alice -p <cli secret>")
		require.Equal(t, rbac.User, p.Kind)
		require.Equal(t, []string{"devs"}, p.Groups)
		require.False(t, p.SystemAdmin)
		d, err := gk.Decide(ctx, p, "team", "team/app", push)
		require.NoError(t, err)
		require.True(t, d.Allowed, "group devs is a developer of team: %s", d.Reason)
		id, err := gk.Authenticate(ctx, "alice", secret)
		require.NoError(t, err, "the token service takes the CLI secret too")
		require.Equal(t, "alice", id.Subject)

		// A browser session's principal (no credentials) carries the
		// same groups and admin rights.
		p, err = gk.PrincipalFor(ctx, "alice")
		require.NoError(t, err)
		require.Equal(t, []string{"devs"}, p.Groups)
		require.False(t, p.SystemAdmin)
		p, err = gk.PrincipalFor(ctx, "bob")
		require.NoError(t, err)
		require.True(t, p.SystemAdmin)
		_, err = gk.PrincipalFor(ctx, "nobody")
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)

		bobSecret, err := r.svc.CLISecret(ctx, "bob")
		require.NoError(t, err)
		p, err = gk.Principal(basic("bob", bobSecret))
		require.NoError(t, err)
		require.True(t, p.SystemAdmin, "bob is in the admin group")
		d, err = gk.Decide(ctx, p, "team", "team/app", push)
		require.NoError(t, err)
		require.True(t, d.Allowed)

		for _, c := range [][2]string{{"alice", bobSecret}, {"alice", secret + "x"}, {"alice", ""}, {"alice", "alice-pw"},
			{"nobody", secret}} {
			_, err := gk.Principal(basic(c[0], c[1]))
			require.ErrorIs(t, err, auth.ErrInvalidCredentials, "%s / %q", c[0], c[1])
		}

		// The user changes its secret: the old one stops working.
		require.ErrorIs(t, r.svc.SetCLISecret(ctx, "alice", "short1A"), ErrWeakSecret)
		require.ErrorIs(t, r.svc.SetCLISecret(ctx, "alice", "alllowercase1"), ErrWeakSecret)
		require.ErrorIs(t, r.svc.SetCLISecret(ctx, "nobody", "Valid-Secret-1"), auth.ErrNotFound)
		_, err = r.users.Create(ctx, auth.User{Name: "local"}, "Local-password-1")
		require.NoError(t, err)
		require.ErrorIs(t, r.svc.SetCLISecret(ctx, "local", "Valid-Secret-1"), ErrNotOIDCUser)
		require.NoError(t, r.svc.SetCLISecret(ctx, "alice", "My-New-Secret-9"))
		gk.Invalidate()
		_, err = gk.Principal(basic("alice", secret))
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
		_, err = gk.Principal(basic("alice", "My-New-Secret-9"))
		require.NoError(t, err)
	})
}

func TestCLISecretRefreshesAndRefusesDisabledUsers(t *testing.T) {
	r := newRP(t, memDB(t), func(c *Config) { c.RefreshInterval = time.Minute })
	r.idp.AddUser("u1", "alice", "alice-pw", "devs")
	r.idp.AddUser("u2", "bob", "bob-pw", "devs")
	for _, u := range []string{"alice", "bob"} {
		resp, body := r.login(browser(t), u, u+"-pw")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
	}
	ctx := t.Context()
	secret, err := r.svc.CLISecret(ctx, "alice")
	require.NoError(t, err)

	// Within the interval the provider is not asked: new groups are not
	// seen yet.
	r.idp.SetGroups("u1", "admins", "ops")
	id, err := r.svc.Authenticate(ctx, "alice", secret)
	require.NoError(t, err)
	require.Equal(t, []string{"devs"}, id.Groups)
	require.False(t, id.SystemAdmin)

	// After it, the refresh token brings the provider's current groups.
	r.clock.advance(2 * time.Minute)
	id, err = r.svc.Authenticate(ctx, "alice", secret)
	require.NoError(t, err)
	require.Equal(t, []string{"admins", "ops"}, id.Groups)
	require.True(t, id.SystemAdmin)
	require.Equal(t, SourceOIDC, id.Source)

	// Disabled at the provider: its refresh token is refused, and so is
	// the CLI secret, from then on.
	r.idp.Disable("u1")
	r.clock.advance(2 * time.Minute)
	_, err = r.svc.Authenticate(ctx, "alice", secret)
	require.ErrorIs(t, err, auth.ErrDisabled)
	_, err = r.svc.Authenticate(ctx, "alice", secret)
	require.ErrorIs(t, err, auth.ErrDisabled, "refused without asking again")
	l, err := r.links.Get(ctx, "alice")
	require.NoError(t, err)
	require.True(t, l.Refused)
	require.False(t, l.Admin)
	groups, admin, err := r.svc.ExternalGroups(ctx, "alice")
	require.NoError(t, err)
	require.Empty(t, groups, "a refused user's session carries no groups")
	require.False(t, admin)

	// Through the Gatekeeper: 401 for the disabled user, bob still works.
	gk := gatekeeper(t, r, memDB(t))
	_, err = gk.Principal(basic("alice", secret))
	require.ErrorIs(t, err, auth.ErrDisabled)
	bobSecret, err := r.svc.CLISecret(ctx, "bob")
	require.NoError(t, err)
	_, err = gk.Principal(basic("bob", bobSecret))
	require.NoError(t, err)

	// A browser login refused by the provider does not clear it either.
	resp, _ := r.login(browser(t), "alice", "alice-pw")
	require.NotEqual(t, http.StatusFound, resp.StatusCode)
	_, err = r.svc.Authenticate(ctx, "alice", secret)
	require.ErrorIs(t, err, auth.ErrDisabled)
}
