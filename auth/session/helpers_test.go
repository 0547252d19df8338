package session_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth/session"
	"github.com/berthlabs/berth/core"
)

// users is an Authenticator over fixed passwords.
type users map[string]string

func (u users) BrowserLogin(_ context.Context, name, password, _ string) (string, []string, error) {
	switch {
	case name == "throttled":
		return "", nil, throttled{}
	case name == "ldap-down":
		return "", nil, fmt.Errorf("directory: %w", core.ErrUnavailable)
	case u[strings.ToLower(name)] == "" || u[strings.ToLower(name)] != password:
		return "", nil, fmt.Errorf("%w: invalid credentials", core.ErrDenied)
	}
	return strings.ToLower(name), []string{"cn=devs,dc=example"}, nil
}

type throttled struct{}

func (throttled) Error() string             { return "too many failed logins" }
func (throttled) RetryAfter() time.Duration { return 1500 * time.Millisecond }

// site is a Manager's handlers behind its Middleware, with /api/whoami
// answering who Resolve says the caller is, whatever the method.
type site struct {
	m *session.Manager
	h http.Handler
}

func newSite(t *testing.T, m *session.Manager) *site {
	mux := http.NewServeMux()
	mux.Handle("/c/", m.Handler(users{"alice": "Secret-1", "bob": "Secret-2"}))
	mux.HandleFunc("/api/whoami", func(w http.ResponseWriter, r *http.Request) {
		name, groups, err := m.Resolve(r)
		require.NoError(t, err)
		fmt.Fprintf(w, "%s %v", name, groups)
	})
	return &site{m: m, h: m.Middleware(mux)}
}

func newManager(t *testing.T, opts ...session.Option) *session.Manager {
	m, err := session.New(t.Context(), memoryDB(t), opts...)
	require.NoError(t, err)
	return m
}

// do serves one request; headers are name, value pairs.
func (s *site) do(method, target, body string, cookie *http.Cookie, headers ...string) *httptest.ResponseRecorder {
	var r *http.Request
	if body != "" {
		r = httptest.NewRequest(method, target, strings.NewReader(body))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	} else {
		r = httptest.NewRequest(method, target, nil)
	}
	if cookie != nil {
		r.AddCookie(cookie)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		r.Header.Set(headers[i], headers[i+1])
	}
	w := httptest.NewRecorder()
	s.h.ServeHTTP(w, r)
	return w
}

func form(user, password string) string {
	return url.Values{"principal": {user}, "password": {password}}.Encode()
}

// login signs in and returns the session cookie and the CSRF token.
func (s *site) login(t *testing.T, user, password string) (*http.Cookie, string) {
	t.Helper()
	w := s.do(http.MethodPost, "http://reg.example/c/login", form(user, password), nil)
	require.Equal(t, http.StatusOK, w.Code, w.Body.String())
	c := sessionCookie(t, w)
	token := w.Header().Get(session.CSRFHeader)
	require.NotEmpty(t, token)
	return c, token
}

func sessionCookie(t *testing.T, w *httptest.ResponseRecorder) *http.Cookie {
	t.Helper()
	for _, c := range w.Result().Cookies() {
		if c.Name == session.DefaultCookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", session.DefaultCookieName, w.Header())
	return nil
}

// whoami is who a GET with cookie is served as.
func (s *site) whoami(cookie *http.Cookie) string {
	w := s.do(http.MethodGet, "http://reg.example/api/whoami", "", cookie)
	name, _, _ := strings.Cut(w.Body.String(), " ")
	return name
}

func newRequest(method, target string, c *http.Cookie) *http.Request {
	r := httptest.NewRequest(method, target, nil)
	if c != nil {
		r.AddCookie(c)
	}
	return r
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
