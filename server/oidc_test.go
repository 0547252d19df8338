package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth/oidc"
	"github.com/berthlabs/berth/internal/oidctest"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// A server in OIDC auth mode: users log in at a real provider, are
// onboarded, get project roles through their groups and admin rights
// through the admin group, and docker-login with their CLI secret.
func TestOIDCAuthMode(t *testing.T) {
	ctx := t.Context()
	var h http.Handler
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(web.Close)
	idp := oidctest.Start(t, web.URL+oidc.CallbackPath)
	idp.AddUser("u1", "alice", "alice-pw", "devs")
	idp.AddUser("u2", "bob", "bob-pw", "admins")

	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	cfg := DefaultConfig()
	cfg.DataDir, cfg.ExternalURL, cfg.AdminPassword = "", web.URL, "Admin-password-1"
	cfg.Scan.Enabled, cfg.Trust.Enabled, cfg.Charts.Enabled, cfg.Replication.Enabled = false, false, false, false
	cfg.OIDC = defaultOIDC()
	cfg.OIDC.Endpoint, cfg.OIDC.ClientID, cfg.OIDC.ClientSecret = idp.Issuer(), oidctest.ClientID, oidctest.ClientSecret
	cfg.OIDC.GroupsClaim, cfg.OIDC.AdminGroup, cfg.OIDC.AutoOnboard = "groups", "admins", true
	s, err := New(ctx, cfg, WithLogger(slog.New(slog.DiscardHandler)), WithStorage(memory.New()), WithDatabase(db))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	h = s.Handler()
	_, err = s.Projects().Create(ctx, project.Project{Name: "team", Owner: "admin"},
		project.Member{Subject: "group:devs", Role: string(rbac.Developer)})
	require.NoError(t, err)

	// A login at the provider starts a real browser session: the cookie
	// alone then calls the API as the user, with the provider's groups
	// (devs: a member of team) and admin group (admins).
	login := func(user string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar}
		resp, err := c.Get(web.URL + oidc.LoginPath)
		require.NoError(t, err)
		_ = resp.Body.Close()
		id := resp.Request.URL.Query().Get("authRequestID")
		require.NotEmpty(t, id)
		resp, body, err := idp.SubmitLogin(c, id, user, user+"-pw")
		require.NoError(t, err)
		require.Equal(t, "/projects", resp.Request.URL.Path, "the login ends at / (the portal sends it on to its projects page): %s", body)
		return c
	}
	inBrowser := func(c *http.Client, method, path string) int {
		req, err := http.NewRequestWithContext(ctx, method, web.URL+path, nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	alice, bob := login("alice"), login("bob")
	require.Equal(t, http.StatusOK, inBrowser(alice, http.MethodGet, "/api/v2.0/projects/team"), "alice's group devs is a member")
	require.Equal(t, http.StatusForbidden, inBrowser(alice, http.MethodGet, "/api/v2.0/users"))
	require.Equal(t, http.StatusOK, inBrowser(bob, http.MethodGet, "/api/v2.0/users"), "bob is in the admin group")
	require.Equal(t, http.StatusForbidden, inBrowser(bob, http.MethodDelete, "/api/v2.0/projects/team"), "no CSRF token")
	require.Equal(t, http.StatusOK, inBrowser(alice, http.MethodGet, "/api/v2.0/users/current"))
	require.Equal(t, http.StatusOK, inBrowser(alice, http.MethodGet, "/c/log_out"))
	require.Equal(t, http.StatusUnauthorized, inBrowser(alice, http.MethodGet, "/api/v2.0/users/current"), "logged out")

	do := func(user, pass, method, path, body string) (int, string) {
		req, err := http.NewRequestWithContext(ctx, method, web.URL+path, strings.NewReader(body))
		require.NoError(t, err)
		req.SetBasicAuth(user, pass)
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	aliceSecret, err := s.id.oidc.svc.CLISecret(ctx, "alice")
	require.NoError(t, err)
	bobSecret, err := s.id.oidc.svc.CLISecret(ctx, "bob")
	require.NoError(t, err)

	status, body := do("alice", aliceSecret, http.MethodGet, "/api/v2.0/systeminfo", "")
	require.Equal(t, http.StatusOK, status, body)
	var info struct {
		AuthMode string `json:"auth_mode"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &info))
	require.Equal(t, "oidc_auth", info.AuthMode)

	status, body = do("alice", aliceSecret, http.MethodGet, "/v2/", "")
	require.Equal(t, http.StatusOK, status, "docker login with the CLI secret: %s", body)
	status, _ = do("alice", aliceSecret+"x", http.MethodGet, "/v2/", "")
	require.Equal(t, http.StatusUnauthorized, status)
	status, _ = do("alice", "alice-pw", http.MethodGet, "/v2/", "")
	require.Equal(t, http.StatusUnauthorized, status, "the provider's password is not berth's")

	status, body = do("alice", aliceSecret, http.MethodGet, "/api/v2.0/projects/team", "")
	require.Equal(t, http.StatusOK, status, "alice's group devs is a member: %s", body)
	status, _ = do("alice", aliceSecret, http.MethodGet, "/api/v2.0/users", "")
	require.Equal(t, http.StatusForbidden, status)
	status, body = do("bob", bobSecret, http.MethodGet, "/api/v2.0/users", "")
	require.Equal(t, http.StatusOK, status, "bob is in the admin group: %s", body)

	status, body = do("alice", aliceSecret, http.MethodPut, "/api/v2.0/users/alice/cli_secret", `{"secret":"Alice-New-Secret-1"}`)
	require.Equal(t, http.StatusOK, status, body)
	status, _ = do("alice", aliceSecret, http.MethodGet, "/v2/", "")
	require.Equal(t, http.StatusUnauthorized, status, "the old secret is gone")
	status, _ = do("alice", "Alice-New-Secret-1", http.MethodGet, "/v2/", "")
	require.Equal(t, http.StatusOK, status)
	status, body = do("admin", "Admin-password-1", http.MethodPut, "/api/v2.0/users/admin/cli_secret", `{"secret":"Admin-Secret-1"}`)
	require.Equal(t, http.StatusPreconditionFailed, status, body)

	// Deleting the user removes its link: its secret stops working.
	status, body = do("admin", "Admin-password-1", http.MethodDelete, "/api/v2.0/users/alice", "")
	require.Equal(t, http.StatusOK, status, body)
	_, err = s.id.oidc.svc.Links().Get(ctx, "alice")
	require.Error(t, err)
	status, _ = do("alice", "Alice-New-Secret-1", http.MethodGet, "/v2/", "")
	require.Equal(t, http.StatusUnauthorized, status)
}

func TestOIDCAndLDAPExcludeEachOther(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	cfg := DefaultConfig()
	cfg.DataDir, cfg.ExternalURL, cfg.AdminPassword = "", "http://127.0.0.1:1", "Admin-password-1"
	cfg.OIDC.Endpoint, cfg.OIDC.ClientID, cfg.LDAP.ConfigFile = "https://idp.example", "berth", "/nonexistent/ldap.json"
	_, err = New(t.Context(), cfg, WithLogger(slog.New(slog.DiscardHandler)), WithStorage(memory.New()), WithDatabase(db))
	require.Error(t, err)
}
