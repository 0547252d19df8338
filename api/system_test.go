package api_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/rbac"
)

func TestPingAndSystemInfo(t *testing.T) {
	e := newEnv(t, api.WithExternalURL("https://reg.example"))
	r := e.do(anonymous, http.MethodGet, "/ping", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "Pong", string(r.Body))
	assert.Equal(t, "text/plain; charset=utf-8", r.Header.Get("Content-Type"))

	var info map[string]any
	e.do(anonymous, http.MethodGet, "/systeminfo", nil).ok(t, http.StatusOK, &info)
	assert.Equal(t, map[string]any{
		"harbor_version": "1.2.3", "auth_mode": "db_auth", "registry_url": e.host(),
		"external_url": "https://reg.example", "project_creation_restriction": "everyone",
		"self_registration": false, "has_ca_root": false, "read_only": false,
		"with_notary": false, "with_chartmuseum": false, "notification_enable": false,
	}, info)
}

func TestErrorShapes(t *testing.T) {
	e := newEnv(t)
	e.user("alice")
	tests := []struct {
		name    string
		who     cred
		method  string
		path    string
		body    any
		status  int
		code    string
		message string
	}{
		{"unknown endpoint", anonymous, http.MethodGet, "/nope", nil, 404, "NOT_FOUND", "no such API endpoint: GET /api/v2.0/nope"},
		{"wrong method", admin(), http.MethodPatch, "/projects", nil, 405, "METHOD_NOT_ALLOWED", "method PATCH is not allowed"},
		{"bad password", cred{"alice", "wrong-password"}, http.MethodGet, "/projects", nil, 401, "UNAUTHORIZED", "invalid credentials"},
		{"unknown user", cred{"nobody", "whatever-1"}, http.MethodGet, "/ping", nil, 401, "UNAUTHORIZED", "invalid credentials"},
		{"anonymous where a login is needed", anonymous, http.MethodGet, "/users", nil, 401, "UNAUTHORIZED", "system-level permission"},
		{"forbidden with RBAC's reason", as("alice"), http.MethodGet, "/users", nil, 403, "FORBIDDEN",
			"denied: list user is a system-level permission; only system administrators hold it"},
		{"missing", admin(), http.MethodGet, "/projects/nope", nil, 404, "NOT_FOUND", `project "nope": not found`},
		{"malformed JSON", admin(), http.MethodPost, "/projects", `{"project_name":`, 400, "BAD_REQUEST", "malformed JSON body: unexpected EOF"},
		{"wrong JSON type", admin(), http.MethodPost, "/projects", `{"project_name": 7}`, 400, "BAD_REQUEST", "cannot unmarshal number"},
		{"trailing data", admin(), http.MethodPost, "/projects", `{"project_name":"a"} {}`, 400, "BAD_REQUEST", "after the JSON value"},
		{"empty body", admin(), http.MethodPost, "/projects", "", 400, "BAD_REQUEST", "the request body is empty"},
		{"too large", admin(), http.MethodPost, "/projects", `{"project_name":"` + strings.Repeat("a", 1<<20) + `"}`, 413, "PAYLOAD_TOO_LARGE", "1 MiB"},
		{"conflict", admin(), http.MethodPost, "/users", map[string]string{"username": "alice", "password": "long-enough-1"}, 409, "CONFLICT", "already exists"},
		{"invalid", admin(), http.MethodPost, "/projects", map[string]string{"project_name": "Bad Name"}, 400, "BAD_REQUEST", "upper-case"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.who, tt.method, tt.path, tt.body)
			msg := r.fails(t, tt.status, tt.code)
			assert.Contains(t, msg, tt.message)
			if tt.status == http.StatusUnauthorized {
				assert.Equal(t, `Basic realm="berth"`, r.Header.Get("WWW-Authenticate"))
			}
			if tt.status == http.StatusMethodNotAllowed {
				assert.Equal(t, "GET, HEAD, POST", r.Header.Get("Allow"))
			}
			assert.NotEmpty(t, r.Header.Get("X-Request-Id"))
		})
	}

	t.Run("unknown fields are ignored", func(t *testing.T) {
		e.do(admin(), http.MethodPost, "/projects", `{"project_name":"extra","cve_allowlist":{"items":[]},"whatever":1}`).
			ok(t, http.StatusCreated, nil)
	})
	t.Run("request id is echoed", func(t *testing.T) {
		r := e.do(anonymous, http.MethodGet, "/ping", nil, "X-Request-Id", "abc-123")
		assert.Equal(t, "abc-123", r.Header.Get("X-Request-Id"))
	})
}

// failingAccess identifies everyone as alice and cannot decide.
type failingAccess struct{}

func (failingAccess) Principal(*http.Request) (rbac.Principal, error) {
	return rbac.Principal{Kind: rbac.User, Name: "alice"}, nil
}

func (failingAccess) Decide(context.Context, rbac.Principal, string, string, rbac.Permission) (rbac.Decision, error) {
	return rbac.Decision{}, errors.New("database password is hunter2")
}

func TestInternalErrorsAreNotShown(t *testing.T) {
	e := newEnv(t)
	var logged strings.Builder
	a, err := api.New(api.Deps{Projects: e.projects, Users: e.users, Robots: e.robots, Audit: e.audit,
		Registry: e.reg, Access: failingAccess{}}, api.WithLogger(slogTo(&logged)))
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	a.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v2.0/users", nil))
	require.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Contains(t, rec.Body.String(), `"code":"INTERNAL_SERVER_ERROR"`)
	assert.NotContains(t, rec.Body.String(), "hunter2")
	assert.Contains(t, logged.String(), "hunter2")
	assert.Contains(t, rec.Body.String(), rec.Header().Get("X-Request-Id"))
}

func TestNewValidates(t *testing.T) {
	e := newEnv(t)
	deps := api.Deps{Projects: e.projects, Users: e.users, Robots: e.robots, Audit: e.audit, Registry: e.reg, Access: e.gk}
	tests := []struct {
		name string
		deps api.Deps
		opts []api.Option
		want string
	}{
		{"missing dependency", api.Deps{Projects: e.projects}, nil, "every dependency"},
		{"bad restriction", deps, []api.Option{api.WithProjectCreationRestriction("nobody")}, "project creation restriction"},
		{"bad robot duration", deps, []api.Option{api.WithDefaultRobotDuration(0)}, "default robot duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := api.New(tt.deps, tt.opts...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestRealmAndAuthMode(t *testing.T) {
	e := newEnv(t, api.WithRealm("acme"), api.WithAuthMode("ldap_auth"))
	r := e.do(cred{"admin", "wrong-password"}, http.MethodGet, "/systeminfo", nil)
	r.fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	assert.Equal(t, `Basic realm="acme"`, r.Header.Get("WWW-Authenticate"))
	var info api.GeneralInfo
	e.do(anonymous, http.MethodGet, "/systeminfo", nil).ok(t, http.StatusOK, &info)
	assert.Equal(t, "ldap_auth", info.AuthMode)
}
