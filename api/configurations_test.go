package api_test

import (
	"context"
	"maps"
	"net/http"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/audit"
)

// memSettings is an in-memory api.Settings.
type memSettings struct {
	mu sync.Mutex
	m  map[string]string
}

func (s *memSettings) Settings(context.Context) (map[string]string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return maps.Clone(s.m), nil
}

func (s *memSettings) SetSettings(_ context.Context, c map[string]string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]string{}
	}
	maps.Copy(s.m, c)
	return nil
}

func TestConfigurations(t *testing.T) {
	store := &memSettings{}
	e := newEnv(t, api.WithSettings(store), api.WithReportedConfig("ldap_url", "ldaps://ldap.example"),
		api.WithReportedConfig("ldap_timeout", 5), api.WithReportedConfig("ldap_verify_cert", true))
	e.user("alice")

	var got map[string]map[string]any
	e.do(admin(), http.MethodGet, "/configurations", nil).ok(t, http.StatusOK, &got)
	assert.Equal(t, map[string]any{"value": "everyone", "editable": true}, got["project_creation_restriction"])
	assert.Equal(t, map[string]any{"value": float64(30), "editable": true}, got["robot_token_duration"])
	assert.Equal(t, map[string]any{"value": "robot$", "editable": false}, got["robot_name_prefix"])
	assert.Equal(t, map[string]any{"value": "db_auth", "editable": false}, got["auth_mode"])
	assert.Equal(t, map[string]any{"value": false, "editable": false}, got["self_registration"])
	assert.Equal(t, map[string]any{"value": "ldaps://ldap.example", "editable": false}, got["ldap_url"])
	assert.Equal(t, map[string]any{"value": float64(5), "editable": false}, got["ldap_timeout"])
	assert.Equal(t, map[string]any{"value": true, "editable": false}, got["ldap_verify_cert"])
	assert.NotContains(t, got, "ldap_search_password")
	assert.NotContains(t, got, "oidc_endpoint", "OIDC is not configured")

	t.Run("change the editable ones", func(t *testing.T) {
		e.do(admin(), http.MethodPut, "/configurations", map[string]any{"project_creation_restriction": "adminonly",
			"robot_token_duration": 7, "auth_mode": "db_auth", "read_only": false}).ok(t, http.StatusOK, nil)
		assert.Equal(t, map[string]string{"project_creation_restriction": "adminonly", "robot_token_duration": "7"}, store.m)
		e.do(admin(), http.MethodGet, "/configurations", nil).ok(t, http.StatusOK, &got)
		assert.Equal(t, "adminonly", got["project_creation_restriction"]["value"])
		assert.Equal(t, float64(7), got["robot_token_duration"]["value"])

		msg := e.do(as("alice"), http.MethodPost, "/projects", map[string]any{"project_name": "mine"}).
			fails(t, http.StatusForbidden, "FORBIDDEN")
		assert.Contains(t, msg, "only system administrators may create projects")
		var info map[string]any
		e.do(anonymous, http.MethodGet, "/systeminfo", nil).ok(t, http.StatusOK, &info)
		assert.Equal(t, "adminonly", info["project_creation_restriction"])

		var robot map[string]any
		e.do(admin(), http.MethodPost, "/robots", map[string]any{"name": "ci", "level": "system",
			"permissions": []map[string]any{{"kind": "project", "namespace": "*",
				"access": []map[string]string{{"resource": "repository", "action": "pull"}}}}}).
			ok(t, http.StatusCreated, &robot)
		assert.EqualValues(t, e.clock.now().AddDate(0, 0, 7).Unix(), robot["expires_at"], "the new default duration applies")

		es, _, err := e.audit.Query(t.Context(), audit.Filter{Action: "updateConfigurations"}, audit.Page{})
		require.NoError(t, err)
		require.Len(t, es, 1)
		assert.Equal(t, "admin", es[0].Actor)
	})

	bad := []struct {
		name string
		body any
		msg  string
	}{
		{"read-only key", map[string]any{"auth_mode": "ldap_auth", "robot_token_duration": 9}, "read-only settings (set by the server's configuration, or not supported by berth): auth_mode"},
		{"secret", map[string]any{"ldap_search_password": "x"}, "read-only settings"},
		{"unknown key", map[string]any{"no_such_thing": 1}, "unknown settings: no_such_thing"},
		{"wrong type", map[string]any{"robot_token_duration": "7"}, "robot_token_duration: want a whole number of days"},
		{"out of range", map[string]any{"robot_token_duration": 0}, "want -1 (never expire) or 1 to"},
		{"bad value", map[string]any{"project_creation_restriction": "nobody"}, `want "everyone" or "adminonly"`},
		{"not an object", `[1]`, "malformed JSON body"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			msg := e.do(admin(), http.MethodPut, "/configurations", tt.body).fails(t, http.StatusBadRequest, "BAD_REQUEST")
			assert.Contains(t, msg, tt.msg)
			assert.Equal(t, "7", store.m["robot_token_duration"], "nothing changed")
		})
	}
	t.Run("admins only", func(t *testing.T) {
		e.do(as("alice"), http.MethodGet, "/configurations", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
		e.do(as("alice"), http.MethodPut, "/configurations", map[string]any{"robot_token_duration": 1}).
			fails(t, http.StatusForbidden, "FORBIDDEN")
		e.do(anonymous, http.MethodGet, "/configurations", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	})
}

func TestConfigurationsWithoutStore(t *testing.T) {
	e := newEnv(t, api.WithProjectCreationRestriction(api.CreationAdminOnly))
	var got map[string]map[string]any
	e.do(admin(), http.MethodGet, "/configurations", nil).ok(t, http.StatusOK, &got)
	assert.Equal(t, map[string]any{"value": "adminonly", "editable": false}, got["project_creation_restriction"])
	msg := e.do(admin(), http.MethodPut, "/configurations", map[string]any{"project_creation_restriction": "everyone"}).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
	assert.Contains(t, msg, "project_creation_restriction")
}

func TestReportedConfigChecked(t *testing.T) {
	e := newEnv(t)
	for _, opt := range []api.Option{api.WithReportedConfig("no_such_key", "x"), api.WithReportedConfig("ldap_timeout", "5"),
		api.WithReportedConfig("robot_token_duration", 5)} {
		_, err := api.New(api.Deps{Projects: e.projects, Users: e.users, Robots: e.robots, Audit: e.audit,
			Registry: e.reg, Access: e.gk}, opt)
		require.Error(t, err)
	}
}
