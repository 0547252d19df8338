package server

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/auth/session"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/storage/memory"
)

// sessionNodes are two servers over one database, as the nodes of a
// scale-out installation are.
func sessionNodes(t *testing.T, externalURL string) (a, b *httptest.Server, sa *Server) {
	dir := t.TempDir()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	node := func() (*httptest.Server, *Server) {
		db, err := sqldb.OpenSQLite(t.Context(), filepath.Join(dir, "shared.db"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		cfg := DefaultConfig()
		cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", "admin-password-1", externalURL
		cfg.Scan.Enabled, cfg.Trust.Enabled, cfg.Charts.Enabled = false, false, false
		s, err := New(t.Context(), cfg, WithLogger(log), WithStorage(memory.New()), WithDatabase(db))
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close(context.Background()) })
		srv := httptest.NewServer(s.Handler())
		t.Cleanup(srv.Close)
		return srv, s
	}
	a, sa = node()
	b, _ = node()
	for _, u := range []string{"alice", "bob"} {
		_, err := sa.Users().Create(t.Context(), auth.User{Name: u, Email: u + "@example.com"}, "Password-"+u+"-1")
		require.NoError(t, err)
	}
	return a, b, sa
}

// browser sends requests with a session cookie.
type browser struct {
	t      *testing.T
	cookie *http.Cookie
	token  string
}

func login(t *testing.T, srv *httptest.Server, user, password string) (*http.Response, *browser) {
	t.Helper()
	resp, err := srv.Client().PostForm(srv.URL+session.LoginPath, url.Values{"principal": {user}, "password": {password}})
	require.NoError(t, err)
	resp.Body.Close()
	b := &browser{t: t, token: resp.Header.Get(session.CSRFHeader)}
	for _, c := range resp.Cookies() {
		if c.Name == session.DefaultCookieName {
			b.cookie = c
		}
	}
	return resp, b
}

// do sends a request with the cookie; headers are name, value pairs.
func (b *browser) do(srv *httptest.Server, method, path, body string, headers ...string) (int, string) {
	b.t.Helper()
	req, err := http.NewRequestWithContext(b.t.Context(), method, srv.URL+path, strings.NewReader(body))
	require.NoError(b.t, err)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if b.cookie != nil {
		req.AddCookie(b.cookie)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := srv.Client().Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(out)
}

func (b *browser) whoami(srv *httptest.Server) string {
	status, body := b.do(srv, http.MethodGet, "/api/v2.0/users/current", "")
	if status != http.StatusOK {
		return ""
	}
	var u struct{ Username string }
	require.NoError(b.t, json.Unmarshal([]byte(body), &u))
	return u.Username
}

func TestBrowserSessions(t *testing.T) {
	a, b, _ := sessionNodes(t, "")
	resp, alice := login(t, a, "Alice", "Password-alice-1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.NotNil(t, alice.cookie)
	assert.True(t, alice.cookie.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, alice.cookie.SameSite)
	assert.False(t, alice.cookie.Secure, "plain HTTP")
	require.NotEmpty(t, alice.token)

	assert.Equal(t, "alice", alice.whoami(a))
	assert.Equal(t, "alice", alice.whoami(b), "the other node knows the session")

	create := `{"project_name":"web"}`
	for name, headers := range map[string][]string{
		"no token":             nil,
		"wrong token":          {session.CSRFHeader, "not-the-token"},
		"cross-site, no token": {"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"},
	} {
		status, body := alice.do(b, http.MethodPost, "/api/v2.0/projects", create, headers...)
		assert.Equal(t, http.StatusForbidden, status, name)
		assert.Contains(t, body, "CSRF token invalid", name)
	}
	status, body := alice.do(b, http.MethodPost, "/api/v2.0/projects", create, session.CSRFHeader, alice.token,
		"Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, status, "the API's own cross-site guard still applies")
	assert.Contains(t, body, "cross-site request refused")
	status, body = alice.do(b, http.MethodPost, "/api/v2.0/projects", create, session.CSRFHeader, alice.token)
	require.Equal(t, http.StatusCreated, status, body)
	status, _ = alice.do(b, http.MethodPut, "/api/v2.0/projects/web", `{"metadata":{"public":"true"}}`)
	assert.Equal(t, http.StatusForbidden, status, "PUT without the token")
	status, body = alice.do(b, http.MethodPut, "/api/v2.0/projects/web", `{"metadata":{"public":"true"}}`,
		session.CSRFHeader, alice.token)
	assert.Equal(t, http.StatusOK, status, body)
	status, _ = alice.do(b, http.MethodDelete, "/api/v2.0/projects/web", "")
	assert.Equal(t, http.StatusForbidden, status, "DELETE without the token")
	status, body = alice.do(b, http.MethodDelete, "/api/v2.0/projects/web", "", session.CSRFHeader, alice.token)
	assert.Equal(t, http.StatusOK, status, body)

	// Basic credentials need no token, whatever cookie comes along.
	basic := &browser{t: t, cookie: alice.cookie}
	status, body = basic.do(a, http.MethodPost, "/api/v2.0/projects", `{"project_name":"cli"}`,
		"Authorization", "Basic "+basicAuth("bob", "Password-bob-1"))
	assert.Equal(t, http.StatusCreated, status, body)

	// Logging out on node b ends the session on node a.
	status, _ = alice.do(b, http.MethodPost, session.LogoutPath, "")
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, alice.whoami(a))
	status, _ = alice.do(a, http.MethodPost, "/api/v2.0/projects", `{"project_name":"late"}`, session.CSRFHeader, alice.token)
	assert.Equal(t, http.StatusUnauthorized, status, "the ended session is anonymous")

	// Wrong credentials: 401, saying nothing of which part; repeated
	// failures are throttled like any other login.
	resp, _ = login(t, a, "alice", "wrong")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	throttled := false
	for range 8 {
		resp, _ = login(t, a, "mallory", "wrong")
		throttled = throttled || resp.StatusCode == http.StatusTooManyRequests
	}
	assert.True(t, throttled, "the Gatekeeper's login throttle applies")

	// A login form posted by a page of another site is refused.
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, a.URL+session.LoginPath,
		strings.NewReader(url.Values{"principal": {"bob"}, "password": {"Password-bob-1"}}.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	resp, err = a.Client().Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Empty(t, resp.Cookies())
}

// A deleted account's sessions end, on every node; a new account of the
// same name inherits none.
func TestBrowserSessionOfDeletedUser(t *testing.T) {
	a, b, sa := sessionNodes(t, "")
	_, bob := login(t, b, "bob", "Password-bob-1")
	require.Equal(t, "bob", bob.whoami(a))
	admin := &browser{t: t}
	status, body := admin.do(a, http.MethodDelete, "/api/v2.0/users/bob", "", "Authorization", "Basic "+basicAuth("admin", "admin-password-1"))
	require.Equal(t, http.StatusOK, status, body)
	assert.Empty(t, bob.whoami(b))
	_, err := sa.Users().Create(t.Context(), auth.User{Name: "bob", Email: "other-bob@example.com"}, "Password-bob-2")
	require.NoError(t, err)
	assert.Empty(t, bob.whoami(a))
	status, _ = bob.do(a, http.MethodGet, "/api/v2.0/users/current", "")
	assert.Equal(t, http.StatusUnauthorized, status)
}

// Behind TLS, or with an https external URL, the cookie is Secure; a
// browser sends it back over TLS and the session works.
func TestBrowserSessionCookieSecure(t *testing.T) {
	a, _, _ := sessionNodes(t, "https://registry.example")
	resp, alice := login(t, a, "alice", "Password-alice-1")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.True(t, alice.cookie.Secure, "the external URL is https (TLS ends at a proxy)")

	s := sessionTLSNode(t)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := s.Client()
	client.Jar = jar
	resp, err = client.PostForm(s.URL+session.LoginPath, url.Values{"principal": {"admin"}, "password": {"admin-password-1"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Len(t, resp.Cookies(), 1)
	assert.True(t, resp.Cookies()[0].Secure)
	resp, err = client.Get(s.URL + "/api/v2.0/users/current")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the browser's jar sends the cookie back over TLS")
	assert.NotEmpty(t, resp.Header.Get(session.CSRFHeader))
}

func sessionTLSNode(t *testing.T) *httptest.Server {
	cfg := DefaultConfig()
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	cfg.DataDir, cfg.AdminPassword, cfg.ExternalURL = "", "admin-password-1", "http://127.0.0.1:1"
	cfg.Scan.Enabled, cfg.Trust.Enabled, cfg.Charts.Enabled = false, false, false
	s, err := New(t.Context(), cfg, WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		WithStorage(memory.New()), WithDatabase(db))
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close(context.Background()) })
	srv := httptest.NewTLSServer(s.Handler())
	t.Cleanup(srv.Close)
	return srv
}

func basicAuth(user, password string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
}
