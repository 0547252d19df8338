package session_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth/session"
	"github.com/berthlabs/berth/sqldb"
)

func TestLoginSetsASafeCookie(t *testing.T) {
	s := newSite(t, newManager(t))
	c, token := s.login(t, "Alice", "Secret-1")
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.False(t, c.Secure, "plain HTTP to a server whose external URL is http")
	assert.Len(t, c.Value, 43, "256 bits, base64url")
	assert.NotEqual(t, c.Value, token)
	assert.Equal(t, "alice [cn=devs,dc=example]", s.do(http.MethodGet, "http://reg.example/api/whoami", "", c).Body.String())

	// Over TLS, or behind a proxy when the external URL is https: Secure.
	w := s.do(http.MethodPost, "https://reg.example/c/login", form("alice", "Secret-1"), nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.True(t, sessionCookie(t, w).Secure)
	s = newSite(t, newManager(t, session.WithExternalURL("https://reg.example")))
	c, _ = s.login(t, "alice", "Secret-1")
	assert.True(t, c.Secure)
}

func TestLoginRefusals(t *testing.T) {
	s := newSite(t, newManager(t))
	tests := []struct {
		name, body, contentType string
		status                  int
		code, message           string
	}{
		{"wrong password", form("alice", "nope"), "", http.StatusUnauthorized, "UNAUTHORIZED", "invalid username or password"},
		{"unknown user", form("mallory", "Secret-1"), "", http.StatusUnauthorized, "UNAUTHORIZED", "invalid username or password"},
		{"missing password", form("alice", ""), "", http.StatusBadRequest, "BAD_REQUEST", "principal and password are required"},
		{"JSON", `{"principal":"alice","password":"Secret-1"}`, "application/json", http.StatusUnsupportedMediaType,
			"UNSUPPORTED_MEDIA_TYPE", "application/x-www-form-urlencoded"},
		{"huge form", "principal=alice&password=" + strings.Repeat("x", 70<<10), "", http.StatusRequestEntityTooLarge,
			"PAYLOAD_TOO_LARGE", "64 KiB"},
		{"malformed form", "principal=%zz", "", http.StatusBadRequest, "BAD_REQUEST", "malformed login form"},
		{"throttled", form("throttled", "x"), "", http.StatusTooManyRequests, "TOO_MANY_REQUESTS", "too many"},
		{"directory down", form("ldap-down", "x"), "", http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "unavailable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var headers []string
			if tt.contentType != "" {
				headers = []string{"Content-Type", tt.contentType}
			}
			w := s.do(http.MethodPost, "http://reg.example/c/login", tt.body, nil, headers...)
			require.Equal(t, tt.status, w.Code, w.Body.String())
			var body struct {
				Errors []struct{ Code, Message string } `json:"errors"`
			}
			require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body))
			require.Len(t, body.Errors, 1)
			assert.Equal(t, tt.code, body.Errors[0].Code)
			assert.Contains(t, body.Errors[0].Message, tt.message)
			assert.Empty(t, w.Result().Cookies(), "no session")
			if tt.status == http.StatusTooManyRequests {
				assert.Equal(t, "2", w.Header().Get("Retry-After"))
			}
		})
	}
	assert.Equal(t, http.StatusMethodNotAllowed, s.do(http.MethodGet, "http://reg.example/c/login", "", nil).Code)
}

func TestCSRFTokenGuardsStateChanges(t *testing.T) {
	s := newSite(t, newManager(t))
	c, token := s.login(t, "alice", "Secret-1")
	_, otherToken := s.login(t, "bob", "Secret-2")
	require.NotEqual(t, token, otherToken)

	w := s.do(http.MethodGet, "http://reg.example/api/whoami", "", c)
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, token, w.Header().Get(session.CSRFHeader), "every answer to the session carries its token")

	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		t.Run(method, func(t *testing.T) {
			for name, headers := range map[string][]string{
				"no token":              nil,
				"wrong token":           {session.CSRFHeader, strings.Repeat("A", 43)},
				"another session's":     {session.CSRFHeader, otherToken},
				"cross-site, no token":  {"Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"},
				"token in another case": {session.CSRFHeader, strings.ToUpper(token)},
			} {
				w := s.do(method, "http://reg.example/api/whoami", "", c, headers...)
				assert.Equal(t, http.StatusForbidden, w.Code, name)
				assert.Contains(t, w.Body.String(), `"code":"FORBIDDEN"`, name)
				assert.Contains(t, w.Body.String(), "CSRF token invalid", name)
			}
			w := s.do(method, "http://reg.example/api/whoami", "", c, session.CSRFHeader, token)
			assert.Equal(t, http.StatusOK, w.Code)
			assert.True(t, strings.HasPrefix(w.Body.String(), "alice "), w.Body.String())
		})
	}

	// Basic or Bearer credentials are not the session's: no token needed,
	// and the cookie does not identify the caller.
	w = s.do(http.MethodDelete, "http://reg.example/api/whoami", "", c, "Authorization", "Basic Ym9iOlNlY3JldC0y")
	assert.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, " []", w.Body.String())
	assert.Empty(t, w.Header().Get(session.CSRFHeader))
}

func TestResolveNeedsTheMiddleware(t *testing.T) {
	m := newManager(t)
	s := newSite(t, m)
	c, _ := s.login(t, "alice", "Secret-1")
	// A handler the server forgot to wrap does not trust the cookie.
	name, groups, err := m.Resolve(newRequest(http.MethodGet, "/api/whoami", c))
	require.NoError(t, err)
	assert.Empty(t, name)
	assert.Empty(t, groups)
}

func TestForgedOrStaleCookieIsAnonymous(t *testing.T) {
	s := newSite(t, newManager(t))
	for _, v := range []string{strings.Repeat("A", 43), "short", "../../etc/passwd", strings.Repeat("x", 4000)} {
		w := s.do(http.MethodGet, "http://reg.example/api/whoami", "", &http.Cookie{Name: "sid", Value: v})
		assert.Equal(t, http.StatusOK, w.Code)
		assert.Equal(t, " []", w.Body.String())
		assert.Empty(t, w.Header().Get(session.CSRFHeader))
		assert.Equal(t, -1, sessionCookie(t, w).MaxAge, "the browser is told to forget it")
		// A POST with a dead cookie is not the session's: it goes on as
		// anonymous, for the handler to refuse.
		assert.Equal(t, http.StatusOK, s.do(http.MethodPost, "http://reg.example/api/whoami", "", &http.Cookie{Name: "sid", Value: v}).Code)
	}
}

// Logging out on one node ends the session on every node sharing the
// database.
func TestLogoutEndsTheSessionEverywhere(t *testing.T) {
	onEngines(t, func(t *testing.T, open func() *sqldb.DB) {
		newNode := func() *site {
			m, err := session.New(t.Context(), open())
			require.NoError(t, err)
			return newSite(t, m)
		}
		a, b := newNode(), newNode()
		c, token := a.login(t, "alice", "Secret-1")
		assert.Equal(t, "alice", b.whoami(c), "node b knows node a's session")
		keep, _ := b.login(t, "alice", "Secret-1")

		for _, method := range []string{http.MethodGet, http.MethodPost} {
			w := b.do(method, "http://reg.example/c/log_out", "", c)
			assert.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, -1, sessionCookie(t, w).MaxAge)
		}
		assert.Empty(t, a.whoami(c), "ended on node a too")
		assert.Empty(t, b.whoami(c))
		assert.Equal(t, http.StatusOK, a.do(http.MethodPut, "http://reg.example/api/whoami", "", c, session.CSRFHeader, token).Code)
		assert.Equal(t, "alice", a.whoami(keep), "the user's other session goes on")

		// Ending a user's sessions (the account was deleted) ends them all.
		n, err := a.m.EndUser(t.Context(), "alice")
		require.NoError(t, err)
		assert.Equal(t, int64(1), n)
		assert.Empty(t, b.whoami(keep))
	})
}

func TestSessionsExpire(t *testing.T) {
	onEngines(t, func(t *testing.T, open func() *sqldb.DB) {
		clk := newClock()
		m, err := session.New(t.Context(), open(), session.WithClock(clk.Now),
			session.WithIdleTimeout(30*time.Minute), session.WithLifetime(2*time.Hour))
		require.NoError(t, err)
		s := newSite(t, m)

		idle, _ := s.login(t, "alice", "Secret-1")
		clk.Advance(29 * time.Minute)
		assert.Equal(t, "alice", s.whoami(idle))
		clk.Advance(29 * time.Minute)
		assert.Equal(t, "alice", s.whoami(idle), "use keeps it alive")
		clk.Advance(31 * time.Minute)
		assert.Empty(t, s.whoami(idle), "idle past the timeout")

		busy, _ := s.login(t, "alice", "Secret-1")
		for range 5 {
			clk.Advance(20 * time.Minute)
			assert.Equal(t, "alice", s.whoami(busy))
		}
		clk.Advance(20 * time.Minute)
		assert.Empty(t, s.whoami(busy), "past the lifetime however busy")

		// Purge removes ended rows; live ones stay.
		live, _ := s.login(t, "bob", "Secret-2")
		_, _ = s.login(t, "alice", "Secret-1")
		clk.Advance(20 * time.Minute)
		assert.Equal(t, "bob", s.whoami(live))
		clk.Advance(20 * time.Minute)
		n, err := m.Purge(t.Context())
		require.NoError(t, err)
		assert.Equal(t, int64(1), n, "alice's idle session (the others were dropped when found ended)")
		assert.Equal(t, "bob", s.whoami(live))
	})
}

// A session id planted in the browser before a login is worth nothing
// after it.
func TestLoginReplacesTheSession(t *testing.T) {
	s := newSite(t, newManager(t))
	planted, _ := s.login(t, "bob", "Secret-2")
	w := s.do(http.MethodPost, "http://reg.example/c/login", form("alice", "Secret-1"), planted)
	require.Equal(t, http.StatusOK, w.Code, "logging in needs no CSRF token")
	fresh := sessionCookie(t, w)
	assert.NotEqual(t, planted.Value, fresh.Value)
	assert.Empty(t, s.whoami(planted))
	assert.Equal(t, "alice", s.whoami(fresh))
}

func TestStart(t *testing.T) {
	m := newManager(t)
	s := newSite(t, m)
	r := newRequest(http.MethodGet, "https://reg.example/c/oidc/callback", nil)
	w := newRecorder()
	require.NoError(t, m.Start(w, r, "carol"))
	c := sessionCookie(t, w)
	assert.True(t, c.Secure && c.HttpOnly)
	assert.NotEmpty(t, w.Header().Get(session.CSRFHeader))
	assert.Equal(t, "carol", s.whoami(c))
	assert.Error(t, m.Start(newRecorder(), r, ""))

	w = newRecorder()
	require.NoError(t, m.End(w, newRequest(http.MethodGet, "https://reg.example/c/oidc/logout", c)))
	assert.Equal(t, -1, sessionCookie(t, w).MaxAge)
	assert.Empty(t, s.whoami(c))
}

func TestNewRefusesNonsense(t *testing.T) {
	_, err := session.New(t.Context(), nil)
	assert.Error(t, err)
	_, err = session.New(t.Context(), memoryDB(t), session.WithIdleTimeout(0))
	assert.Error(t, err)
	_, err = session.New(t.Context(), memoryDB(t), session.WithCookieName(""))
	assert.Error(t, err)
}

// Logging in in a loop ends the oldest sessions beyond the cap.
func TestSessionsPerUserAreBounded(t *testing.T) {
	onEngines(t, func(t *testing.T, open func() *sqldb.DB) {
		clk := newClock()
		m, err := session.New(t.Context(), open(), session.WithClock(clk.Now))
		require.NoError(t, err)
		s := newSite(t, m)
		bob, _ := s.login(t, "bob", "Secret-2")
		var cookies []*http.Cookie
		for range session.MaxPerUser + 3 {
			clk.Advance(time.Second)
			c, _ := s.login(t, "alice", "Secret-1")
			cookies = append(cookies, c)
		}
		for i, c := range cookies {
			want := "alice"
			if i < 3 {
				want = ""
			}
			assert.Equal(t, want, s.whoami(c), "session %d", i)
		}
		assert.Equal(t, "bob", s.whoami(bob), "other users' sessions are not touched")
	})
}

// A plain HTML form (no script to set headers) sends the token in a form
// field; the field is checked like the header, and only for URL-encoded
// forms.
func TestCSRFTokenInFormField(t *testing.T) {
	s := newSite(t, newManager(t))
	c, token := s.login(t, "alice", "Secret-1")
	_, otherToken := s.login(t, "bob", "Secret-2")

	ok := s.do(http.MethodPost, "http://reg.example/api/whoami", url.Values{session.FormTokenField: {token}, "name": {"x"}}.Encode(), c)
	assert.Equal(t, http.StatusOK, ok.Code, ok.Body.String())
	assert.True(t, strings.HasPrefix(ok.Body.String(), "alice "), ok.Body.String())

	for name, body := range map[string]string{
		"no field":           url.Values{"name": {"x"}}.Encode(),
		"another session's":  url.Values{session.FormTokenField: {otherToken}}.Encode(),
		"empty":              url.Values{session.FormTokenField: {""}}.Encode(),
		"malformed form":     "%zz=" + token,
		"over the body size": session.FormTokenField + "=" + token + "&pad=" + strings.Repeat("a", 1<<20),
	} {
		w := s.do(http.MethodPost, "http://reg.example/api/whoami", body, c)
		assert.Equal(t, http.StatusForbidden, w.Code, name)
	}
	// The field counts only in a form: a JSON body carrying it is refused.
	r := httptest.NewRequest(http.MethodPost, "http://reg.example/api/whoami",
		strings.NewReader(session.FormTokenField+"="+token))
	r.Header.Set("Content-Type", "application/json")
	r.AddCookie(c)
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusForbidden, w.Code)
}
