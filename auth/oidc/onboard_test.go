package oidc

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/internal/oidctest"
)

// postOnboard sends the name a user chose to /c/oidc/onboard.
func (r *rp) postOnboard(c *http.Client, body, contentType string) (int, string) {
	r.t.Helper()
	resp, err := c.Post(r.srv.URL+OnboardPath, contentType, bytes.NewBufferString(body))
	require.NoError(r.t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestOnboardingWhenTheNameIsTakenOrAutoOnboardIsOff(t *testing.T) {
	r := newRP(t, memDB(t), func(c *Config) { c.AutoOnboard = false })
	r.idp.AddUser("u1", "alice", "alice-pw", "devs")
	ctx := t.Context()
	_, err := r.users.Create(ctx, auth.User{Name: "taken"}, "Taken-password-1")
	require.NoError(t, err)

	c := browser(t)
	resp, body := r.login(c, "alice", "alice-pw")
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, "page "+OnboardPage, body, "sent to choose a name")
	require.Equal(t, "alice", resp.Request.URL.Query().Get("username"), "the claim is suggested")
	require.Empty(t, r.sessions.list())
	_, err = r.users.Get(ctx, "alice")
	require.ErrorIs(t, err, auth.ErrNotFound, "not onboarded before it chose")

	status, body := r.postOnboard(c, `{"username":"taken"}`, "application/json")
	require.Equal(t, http.StatusConflict, status, body)
	status, body = r.postOnboard(c, `{"username":"no spaces allowed"}`, "application/json")
	require.Equal(t, http.StatusBadRequest, status, body)
	status, body = r.postOnboard(c, `{"username":`, "application/json")
	require.Equal(t, http.StatusBadRequest, status, body)
	status, body = r.postOnboard(c, "username=alice2", "application/x-www-form-urlencoded")
	require.Equal(t, http.StatusUnsupportedMediaType, status, body)
	status, body = r.postOnboard(browser(t), `{"username":"alice2"}`, "application/json")
	require.Equal(t, http.StatusBadRequest, status, "another browser has no onboarding: %s", body)

	status, body = r.postOnboard(c, `{"username":"Alice2"}`, "application/json")
	require.Equal(t, http.StatusOK, status, body)
	require.Equal(t, []string{"alice2"}, r.sessions.list())
	u, err := r.users.Get(ctx, "alice2")
	require.NoError(t, err)
	require.Equal(t, SourceOIDC, u.Source)
	l, err := r.links.Get(ctx, "alice2")
	require.NoError(t, err)
	require.Equal(t, []string{"devs"}, l.Groups)
	status, _ = r.postOnboard(c, `{"username":"alice3"}`, "application/json")
	require.Equal(t, http.StatusBadRequest, status, "the onboarding cookie is used up")

	// The next login finds alice2 by its subject: no onboarding.
	resp, body = r.login(browser(t), "alice", "alice-pw")
	require.Equal(t, "page /", body)
	require.Equal(t, []string{"alice2", "alice2"}, r.sessions.list())
	_ = resp
}

func TestAutoOnboardFallsBackToOnboardingOnATakenName(t *testing.T) {
	r := newRP(t, memDB(t), nil)
	r.idp.AddUser("u1", "admin", "pw")
	_, err := r.users.Create(t.Context(), auth.User{Name: "admin", SystemAdmin: true}, "Admin-password-1")
	require.NoError(t, err)
	resp, body := r.login(browser(t), "admin", "pw")
	require.Equal(t, "page "+OnboardPage, body, "a provider's user cannot take over the local admin")
	require.Equal(t, "admin", resp.Request.URL.Query().Get("username"))
	require.Empty(t, r.sessions.list())
}

func TestPing(t *testing.T) {
	r := newRP(t, memDB(t), nil)
	ctx := context.Background()
	require.NoError(t, Ping(ctx, r.idp.Issuer(), http.DefaultClient))
	err := Ping(ctx, r.srv.URL, http.DefaultClient)
	require.Error(t, err, "berth itself is no provider")
	err = Ping(ctx, "http://127.0.0.1:1", http.DefaultClient)
	require.Error(t, err)
	u, _ := url.Parse(r.idp.Issuer())
	u.Host = "localhost:" + u.Port()
	err = Ping(ctx, u.String(), http.DefaultClient)
	require.ErrorContains(t, err, "issuer", "the document names another issuer")
}

func TestLogoutEndsTheSessionAndGoesToTheProvider(t *testing.T) {
	r := newRP(t, memDB(t), nil)
	ended := 0
	svc, err := New(Config{Issuer: r.idp.Issuer(), ClientID: oidctest.ClientID, RedirectURL: r.srv.URL + CallbackPath},
		r.users, r.links, r.sessions, r.key, WithLogout(func(w http.ResponseWriter, _ *http.Request) error {
			ended++
			return nil
		}))
	require.NoError(t, err)
	w := httptest.NewRecorder()
	svc.Handler().ServeHTTP(w, httptest.NewRequest(http.MethodGet, LogoutPath, nil))
	require.Equal(t, http.StatusFound, w.Code)
	require.Equal(t, 1, ended)
	u, err := url.Parse(w.Header().Get("Location"))
	require.NoError(t, err)
	require.Equal(t, r.idp.Issuer(), u.Scheme+"://"+u.Host, "the provider's end_session_endpoint")
	require.Equal(t, oidctest.ClientID, u.Query().Get("client_id"))
	require.Equal(t, r.srv.URL+"/", u.Query().Get("post_logout_redirect_uri"))
}
