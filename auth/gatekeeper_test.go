package auth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"github.com/berthlabs/berth/core"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/token"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// world is a registry behind a Gatekeeper, with a token endpoint.
type world struct {
	srv      *httptest.Server
	gk       *auth.Gatekeeper
	users    *auth.Users
	robots   *auth.Robots
	projects *project.Store
	robotKey string
}

func newWorld(t testing.TB, opts ...auth.GatekeeperOption) *world {
	t.Helper()
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return newWorldOn(t, db, opts...)
}

// newWorldOn is newWorld on db.
func newWorldOn(t testing.TB, db *sqldb.DB, opts ...auth.GatekeeperOption) *world {
	t.Helper()
	ctx := t.Context()
	fast := auth.WithHashParams(auth.HashParams{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32})
	users, err := auth.NewUsers(ctx, db, fast)
	require.NoError(t, err)
	robots, err := auth.NewRobots(ctx, db)
	require.NoError(t, err)
	projects, err := project.NewStore(ctx, db)
	require.NoError(t, err)

	_, err = users.Bootstrap(ctx, "admin", "admin-password-1")
	require.NoError(t, err)
	for _, u := range []string{"alice", "gus"} {
		_, err = users.Create(ctx, auth.User{Name: u}, u+"-password-1")
		require.NoError(t, err)
	}
	_, err = projects.Create(ctx, project.Project{Name: "pub", Public: true})
	require.NoError(t, err)
	_, err = projects.Create(ctx, project.Project{Name: "priv"},
		project.Member{Subject: "user:alice", Role: "developer"},
		project.Member{Subject: "user:gus", Role: "guest"})
	require.NoError(t, err)
	_, secret, err := robots.Create(ctx, auth.Robot{Name: "ci", Project: "priv",
		Permissions: []auth.RobotPermission{{Project: "priv", Resource: "repository", Action: "pull"}}})
	require.NoError(t, err)

	policy := auth.NewPolicy(func(ctx context.Context) (rbac.Policy, error) {
		var pol rbac.Policy
		ps, _, err := projects.List(ctx, project.Filter{}, project.Page{Limit: 1000})
		if err != nil {
			return pol, err
		}
		for _, p := range ps {
			pol.Projects = append(pol.Projects, rbac.Project{Name: p.Name, Public: p.Public})
		}
		for m, err := range projects.AllMembers(ctx) {
			if err != nil {
				return pol, err
			}
			pol.Bindings = append(pol.Bindings, rbac.Binding{Subject: m.Subject, Project: m.Project,
				Role: rbac.Role(m.Role), Repositories: m.Repositories})
		}
		rs, _, err := robots.List(ctx, auth.RobotFilter{Page: core.Page{Limit: 1000}})
		for _, r := range rs {
			for _, perm := range r.Permissions {
				pol.Bindings = append(pol.Bindings, rbac.Binding{Subject: "robot:" + r.Name, Project: perm.Project,
					Permissions: []rbac.Permission{{Resource: rbac.Resource(perm.Resource), Action: rbac.Action(perm.Action)}}})
			}
		}
		return pol, err
	})
	key, err := token.GenerateKey()
	require.NoError(t, err)
	tokens, err := token.New("berth", "berth-registry", token.WithSigningKey(key, ""))
	require.NoError(t, err)

	w := &world{users: users, robots: robots, projects: projects, robotKey: secret}
	mux := http.NewServeMux()
	w.srv = httptest.NewServer(mux)
	t.Cleanup(w.srv.Close)
	w.gk = auth.NewGatekeeper(users, robots, projects, policy, tokens, w.srv.URL+"/service/token", opts...)
	reg, err := registry.New(ctx, memory.New(), db, registry.WithAuthorizer(w.gk))
	require.NoError(t, err)
	mux.Handle("/v2/", reg)
	mux.Handle("/service/token", tokens.Handler(w.gk, w.gk))
	return w
}

func (w *world) do(t *testing.T, method, path, user, pass, bearer string, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, w.srv.URL+path, strings.NewReader(body))
	require.NoError(t, err)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := w.srv.Client().Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

func (w *world) token(t *testing.T, user, pass string, scopes ...string) string {
	t.Helper()
	q := url.Values{"service": {"berth-registry"}, "scope": scopes}
	resp := w.do(t, http.MethodGet, "/service/token?"+q.Encode(), user, pass, "", "")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body struct{ Token string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return body.Token
}

func pushPath(repo string) string {
	blob := "hello"
	return "/v2/" + repo + "/blobs/uploads/?digest=" + digest.FromString(blob).String()
}

func TestGatekeeperBasicAndAnonymous(t *testing.T) {
	auth.OnEngines(t, func(t *testing.T, db *sqldb.DB) {
		w := newWorldOn(t, db)
		tests := []struct {
			name, method, path, user, pass string
			status                         int
			contains                       string
		}{
			{"anonymous ping is challenged", "GET", "/v2/", "", "", 401, ""},
			{"anonymous pull of a public project", "GET", "/v2/pub/app/tags/list", "", "", 404, "NAME_UNKNOWN"},
			{"anonymous pull of a private project", "GET", "/v2/priv/app/tags/list", "", "", 401, ""},
			{"anonymous push to a public project", "POST", pushPath("pub/app"), "", "", 401, ""},
			{"developer pushes", "POST", pushPath("priv/app"), "alice", "alice-password-1", 201, ""},
			{"developer may not delete", "DELETE", "/v2/priv/app/manifests/latest", "alice", "alice-password-1", 403, "developer cannot delete"},
			{"guest may not push", "POST", pushPath("priv/app"), "gus", "gus-password-1", 403, "guest cannot push"},
			{"wrong password", "GET", "/v2/priv/app/tags/list", "alice", "nope-nope-nope", 401, "invalid username or password"},
			{"robot pulls", "GET", "/v2/priv/app/tags/list", "robot$priv+ci", w.robotKey, 200, ""},
			{"robot may not push", "POST", pushPath("priv/app"), "robot$priv+ci", w.robotKey, 403, "robot"},
			{"admin push into a missing project", "POST", pushPath("ghost/app"), "admin", "admin-password-1", 404, "does not exist"},
			{"catalog is for admins", "GET", "/v2/_catalog", "alice", "alice-password-1", 403, "system administrators"},
			{"admin lists the catalog", "GET", "/v2/_catalog", "admin", "admin-password-1", 200, "priv/app"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				body := ""
				if tt.method == "POST" {
					body = "hello"
				}
				resp := w.do(t, tt.method, tt.path, tt.user, tt.pass, "", body)
				assert.Equal(t, tt.status, resp.StatusCode)
				if tt.status == 401 {
					assert.Contains(t, resp.Header.Get("WWW-Authenticate"), `Bearer realm="`+w.srv.URL+`/service/token"`)
				}
				if tt.contains != "" {
					b, _ := io.ReadAll(resp.Body)
					assert.Contains(t, string(b), tt.contains)
				}
			})
		}
	})
}

func TestGatekeeperTokens(t *testing.T) {
	w := newWorld(t)
	// RBAC narrows a token request: alice may pull and push, not delete.
	tok := w.token(t, "alice", "alice-password-1", "repository:priv/app:pull,push,delete")
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	assert.Contains(t, string(payload), `"actions":["pull","push"]`)

	assert.Equal(t, 201, w.do(t, "POST", pushPath("priv/app"), "", "", tok, "hello").StatusCode)
	assert.Equal(t, 401, w.do(t, "DELETE", "/v2/priv/app/manifests/latest", "", "", tok, "").StatusCode,
		"the token does not cover delete")
	assert.Equal(t, 401, w.do(t, "GET", "/v2/pub/app/tags/list", "", "", tok, "").StatusCode,
		"a token for one repository does not open another")

	// Anonymous tokens carry public pulls only.
	anon := w.token(t, "", "", "repository:pub/app:pull,push", "repository:priv/app:pull")
	payload, err = base64.RawURLEncoding.DecodeString(strings.Split(anon, ".")[1])
	require.NoError(t, err)
	assert.Contains(t, string(payload), `{"type":"repository","name":"pub/app","actions":["pull"]}`)
	assert.NotContains(t, string(payload), "priv/app")

	// Bad credentials get no token.
	q := url.Values{"service": {"berth-registry"}, "scope": {"repository:priv/app:pull"}}
	assert.Equal(t, 401, w.do(t, "GET", "/service/token?"+q.Encode(), "alice", "wrong-password", "", "").StatusCode)

	// A membership change takes effect once the Gatekeeper is told.
	_, err = w.projects.UpdateMember(t.Context(), project.Member{Project: "priv", Subject: "user:alice", Role: "maintainer"})
	require.NoError(t, err)
	w.gk.Invalidate()
	tok = w.token(t, "alice", "alice-password-1", "repository:priv/app:delete")
	payload, err = base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	require.NoError(t, err)
	assert.Contains(t, string(payload), `"actions":["delete"]`)
}

func TestGatekeeperLoginObserver(t *testing.T) {
	w := newWorld(t)
	var attempts []auth.LoginAttempt
	gk := auth.NewGatekeeper(w.users, w.robots, w.projects, auth.NewPolicy(func(context.Context) (rbac.Policy, error) {
		return rbac.Policy{}, nil
	}), nil, "realm", auth.WithLoginObserver(func(_ context.Context, a auth.LoginAttempt) { attempts = append(attempts, a) }))
	_, err := gk.Authenticate(t.Context(), "alice", "bad-password")
	require.Error(t, err)
	_, err = gk.Authenticate(t.Context(), "alice", "alice-password-1")
	require.NoError(t, err)
	_, err = gk.Authenticate(t.Context(), "alice", "alice-password-1") // cached: not observed again
	require.NoError(t, err)
	require.Len(t, attempts, 2)
	assert.False(t, attempts[0].OK)
	assert.True(t, attempts[1].OK)
}
