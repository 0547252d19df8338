package ui_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/auth/oidc"
	"github.com/berthlabs/berth/internal/oidctest"
	"github.com/berthlabs/berth/server"
)

// A new OIDC user whose name is taken lands on the onboarding page,
// chooses another name there and is signed in.
func TestOIDCOnboarding(t *testing.T) {
	var idp *oidctest.Provider
	p := startPortal(t, func(cfg *server.Config) {
		idp = oidctest.Start(t, cfg.ExternalURL+oidc.CallbackPath)
		cfg.OIDC.Endpoint, cfg.OIDC.ClientID, cfg.OIDC.ClientSecret = idp.Issuer(), oidctest.ClientID, oidctest.ClientSecret
		cfg.OIDC.AutoOnboard = true
		cfg.Scan.Enabled, cfg.Trust.Enabled, cfg.Charts.Enabled, cfg.Replication.Enabled = false, false, false, false
	})
	idp.AddUser("u1", "admin", "admin-pw") // "admin" is taken: onboarding asks for another name

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	browser := &http.Client{Jar: jar}
	resp, err := browser.Get(p.URL + oidc.LoginPath + "?redirect_url=%2Fprojects")
	require.NoError(t, err)
	resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	require.NotEmpty(t, id)
	resp, body, err := idp.SubmitLogin(browser, id, "admin", "admin-pw")
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	require.Equal(t, "/oidc-onboard", resp.Request.URL.Path)
	assert.Contains(t, text(body), "Choose your username")
	assert.Contains(t, body, `value="admin"`)

	b := &portal{URL: p.URL, Host: p.Host, client: &http.Client{Jar: jar,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
	// The taken name is refused with the server's message.
	status, _, page := b.post(t, "/oidc-onboard", url.Values{"username": {"admin"}, "redirect_url": {"/projects"}})
	assert.Equal(t, http.StatusConflict, status)
	assert.Contains(t, text(page), "Choose your username")
	// Another name is taken on: the browser is signed in as it.
	status, loc, page := b.post(t, "/oidc-onboard", url.Values{"username": {"alice"}, "redirect_url": {"/projects"}})
	require.Equal(t, http.StatusSeeOther, status, text(page))
	assert.Equal(t, "/projects", loc)
	resp, err = b.client.Get(p.URL + "/api/v2.0/users/current")
	require.NoError(t, err)
	me, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Contains(t, string(me), `"username":"alice"`)
	assert.Contains(t, text(b.page(t, "/projects")), "alice")
}
