package oidc

import (
	"io"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/sqldb"
)

func TestLoginOnboardsAndStartsASession(t *testing.T) {
	onEngines(t, func(t *testing.T, db *sqldb.DB) {
		r := newRP(t, db, nil)
		r.idp.AddUser("u1", "alice", "alice-pw", "devs", "admins")
		c := browser(t)
		resp, body := r.submit(c, r.startLogin(c, "?redirect_url="+url.QueryEscape("/harbor/projects")), "alice", "alice-pw")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, "page /harbor/projects", body, "back on the page the login started from")
		require.Equal(t, []string{"alice"}, r.sessions.list())

		// PKCE with S256, a nonce and a state went to the provider.
		q := r.idp.LastAuth()
		require.Equal(t, "S256", q.Get("code_challenge_method"))
		require.Len(t, q.Get("code_challenge"), 43)
		require.NotEmpty(t, q.Get("nonce"))
		require.NotEmpty(t, q.Get("state"))
		require.Equal(t, "openid profile email offline_access", q.Get("scope"))

		u, err := r.users.Get(t.Context(), "alice")
		require.NoError(t, err)
		require.Equal(t, SourceOIDC, u.Source)
		require.Equal(t, "u1@example.com", u.Email)
		require.False(t, u.SystemAdmin, "the admin group makes an admin while it lasts, not a stored admin")
		_, err = r.users.Authenticate(t.Context(), "alice", "alice-pw")
		require.ErrorIs(t, err, auth.ErrInvalidCredentials, "OIDC users have no password here")

		l, err := r.links.Get(t.Context(), "alice")
		require.NoError(t, err)
		require.Equal(t, r.idp.Issuer(), l.Issuer)
		require.Equal(t, "u1", l.Subject)
		require.Equal(t, []string{"devs", "admins"}, l.Groups)
		require.True(t, l.Admin)
		secret, err := r.svc.CLISecret(t.Context(), "alice")
		require.NoError(t, err)
		require.NoError(t, ValidSecret(secret))

		// A second login finds the same user by its subject, and takes
		// the groups the provider now reports.
		r.idp.SetGroups("u1", "ops")
		resp, body = r.login(browser(t), "alice", "alice-pw")
		require.Equal(t, http.StatusOK, resp.StatusCode, body)
		require.Equal(t, []string{"alice", "alice"}, r.sessions.list())
		l, err = r.links.Get(t.Context(), "alice")
		require.NoError(t, err)
		require.Equal(t, []string{"ops"}, l.Groups)
		require.False(t, l.Admin)
		again, err := r.svc.CLISecret(t.Context(), "alice")
		require.NoError(t, err)
		require.Equal(t, secret, again, "the CLI secret survives logins")
	})
}

func TestCallbackRefusesTampering(t *testing.T) {
	r := newRP(t, memDB(t), nil)
	r.idp.AddUser("u1", "alice", "alice-pw")
	// stopAtCallback is a browser that does not follow the provider's
	// redirect to the callback, so the test can change it.
	stopAtCallback := func() *http.Client {
		c := browser(t)
		c.CheckRedirect = func(req *http.Request, _ []*http.Request) error {
			if req.URL.Path == CallbackPath {
				return http.ErrUseLastResponse
			}
			return nil
		}
		return c
	}
	callbackURL := func(c *http.Client) *url.URL {
		resp, _ := r.submit(c, r.startLogin(c, ""), "alice", "alice-pw")
		require.Equal(t, http.StatusFound, resp.StatusCode)
		u, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		require.Equal(t, CallbackPath, u.Path)
		return u
	}
	get := func(c *http.Client, u string) (int, string) {
		resp, err := c.Get(u)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	t.Run("state", func(t *testing.T) {
		c := stopAtCallback()
		u := callbackURL(c)
		q := u.Query()
		q.Set("state", q.Get("state")+"x")
		u.RawQuery = q.Encode()
		status, body := get(c, u.String())
		require.Equal(t, http.StatusBadRequest, status, body)
		require.Contains(t, body, "state does not match")
	})
	t.Run("no login cookie", func(t *testing.T) {
		u := callbackURL(stopAtCallback())
		status, body := get(browser(t), u.String()) // another browser: the code is stolen
		require.Equal(t, http.StatusBadRequest, status, body)
		require.Contains(t, body, "no login in progress")
	})
	t.Run("altered cookie", func(t *testing.T) {
		c := stopAtCallback()
		u := callbackURL(c)
		base, _ := url.Parse(r.srv.URL + "/c/oidc/")
		cs := c.Jar.Cookies(base)
		require.Len(t, cs, 1)
		v := []byte(cs[0].Value) // "gcm:" + base64: change one byte of the ciphertext
		v[10] ^= 'A' ^ 'B'
		if v[10] == '+' || v[10] == '/' {
			v[10] = 'C'
		}
		cs[0].Value, cs[0].Path = string(v), "/c/oidc/"
		c.Jar.SetCookies(base, cs)
		status, body := get(c, u.String())
		require.Equal(t, http.StatusBadRequest, status, body)
	})
	t.Run("nonce", func(t *testing.T) {
		// A flow cookie sealed with the server's key whose nonce is not
		// the one the provider put in the ID token (as if an ID token
		// from another login were replayed): the exchange works (the
		// verifier is right), the ID token is refused.
		c := stopAtCallback()
		u := callbackURL(c)
		base, _ := url.Parse(r.srv.URL + "/c/oidc/")
		cookie := c.Jar.Cookies(base)[0]
		var st flowState
		require.True(t, r.svc.readCookie(&http.Request{Header: http.Header{"Cookie": {cookie.String()}}}, flowCookie, &st,
			func() time.Time { return st.Expires }))
		st.Nonce = "another-nonce"
		rec := httptestRecorder()
		require.NoError(t, r.svc.setCookie(rec, flowCookie, "/c/oidc/", st))
		c.Jar.SetCookies(base, rec.Result().Cookies())
		status, body := get(c, u.String())
		require.Equal(t, http.StatusUnauthorized, status, body)
		require.Contains(t, body, "nonce")
	})
	t.Run("pkce verifier", func(t *testing.T) {
		c := stopAtCallback()
		u := callbackURL(c)
		base, _ := url.Parse(r.srv.URL + "/c/oidc/")
		cookie := c.Jar.Cookies(base)[0]
		var st flowState
		require.True(t, r.svc.readCookie(&http.Request{Header: http.Header{"Cookie": {cookie.String()}}}, flowCookie, &st,
			func() time.Time { return st.Expires }))
		st.Verifier = oauth2.GenerateVerifier()
		rec := httptestRecorder()
		require.NoError(t, r.svc.setCookie(rec, flowCookie, "/c/oidc/", st))
		c.Jar.SetCookies(base, rec.Result().Cookies())
		status, body := get(c, u.String())
		require.Equal(t, http.StatusUnauthorized, status, body, "the provider checks the code_challenge")
	})
	t.Run("provider error", func(t *testing.T) {
		c := stopAtCallback()
		u := callbackURL(c)
		q := url.Values{"state": {u.Query().Get("state")}, "error": {"access_denied"}}
		status, body := get(c, r.srv.URL+CallbackPath+"?"+q.Encode())
		require.Equal(t, http.StatusUnauthorized, status, body)
		require.Contains(t, body, "access_denied")
	})
	require.Empty(t, r.sessions.list(), "no tampered login started a session")
}

func TestLocalRedirect(t *testing.T) {
	for in, want := range map[string]string{
		"":                       "/",
		"/harbor/projects?x=1":   "/harbor/projects?x=1",
		"https://evil.example/":  "/",
		"//evil.example/":        "/",
		"/\\evil.example":        "/",
		"javascript:alert(1)":    "/",
		"/ok\r\nSet-Cookie: x=1": "/",
		"relative/path":          "/",
		"/%2F%2Fevil.example/x":  "/%2F%2Fevil.example/x",
	} {
		require.Equal(t, want, localRedirect(in), in)
	}
}
