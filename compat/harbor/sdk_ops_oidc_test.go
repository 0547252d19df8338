package harbor_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"

	"github.com/go-openapi/runtime"
	rtclient "github.com/go-openapi/runtime/client"
	harbor "github.com/goharbor/go-client/pkg/sdk/v2.0/client"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/oidc"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/user"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"

	berthoidc "github.com/berthlabs/berth/auth/oidc"
)

// The OIDC calls, against the OIDC-mode server (oidc_main_test.go): a
// user logs in at the provider without a browser, reads their CLI
// secret in /users/current (oidc_user_meta), replaces it with
// setCliSecret as themselves, and docker-logs in with the new one.

func oidcCalls() map[string]sdkCall {
	return map[string]sdkCall{
		"setCliSecret": func(ctx context.Context, f *fixture) error {
			u, err := once(ctx, f, "oidc login", f.oidcLogin)
			if err != nil {
				return err
			}
			const secret = "Cli-secret-123456"
			self := oidcClient(rtclient.BasicAuth(u.name, u.secret), nil)
			if _, err := self.User.SetCliSecret(ctx, user.NewSetCliSecretParams().WithUserID(u.id).
				WithSecret(&models.OIDCCliSecretReq{Secret: secret})); err != nil {
				return err
			}
			// docker login with the new secret works, with the old not.
			if status, err := basicV2(ctx, u.name, secret); err != nil || status != http.StatusOK {
				return checkf("GET /v2/ with the new CLI secret: %d %v", status, err)
			}
			if status, err := basicV2(ctx, u.name, u.secret); err != nil || status != http.StatusUnauthorized {
				return checkf("GET /v2/ with the replaced CLI secret: %d %v, want 401", status, err)
			}
			me, err := oidcClient(rtclient.BasicAuth(u.name, secret), nil).User.GetCurrentUserInfo(ctx,
				user.NewGetCurrentUserInfoParams())
			if err != nil {
				return setup("getCurrentUserInfo", err)
			}
			if me.Payload.OIDCUserMeta == nil || me.Payload.OIDCUserMeta.Secret != secret {
				return checkf("oidc_user_meta does not show the new secret: %+v", me.Payload.OIDCUserMeta)
			}
			return nil
		},
		"pingOIDC": func(ctx context.Context, f *fixture) error {
			admin := oidcClient(rtclient.BasicAuth(adminUser, adminPassword), nil)
			_, err := admin.OIDC.PingOIDC(ctx, oidc.NewPingOIDCParams().
				WithEndpoint(oidc.PingOIDCBody{URL: oidcIdP.Issuer(), VerifyCert: true}))
			return err
		},
	}
}

// oidcUserLogin is the OIDC user once logged in: its name, id and CLI
// secret as /users/current shows it.
type oidcUserLogin struct {
	name, secret string
	id           int64
}

// oidcLogin logs oidcUser in at the provider, as a browser would but
// without one (following the redirects, posting the provider's login
// form), which onboards the user; then, with the session cookie the
// login set, reads the user's CLI secret in /users/current.
func (f *fixture) oidcLogin(ctx context.Context) (oidcUserLogin, error) {
	jar, err := cookiejar.New(nil)
	if err != nil {
		return oidcUserLogin{}, err
	}
	browser := &http.Client{Jar: jar}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, oidcServerURL+berthoidc.LoginPath, nil)
	if err != nil {
		return oidcUserLogin{}, err
	}
	resp, err := browser.Do(req)
	if err != nil {
		return oidcUserLogin{}, err
	}
	_ = resp.Body.Close()
	id := resp.Request.URL.Query().Get("authRequestID")
	if id == "" {
		return oidcUserLogin{}, fmt.Errorf("the login did not reach the provider's form (at %s)", resp.Request.URL)
	}
	resp, body, err := oidcIdP.SubmitLogin(browser, id, oidcUser, oidcPassword)
	if err != nil {
		return oidcUserLogin{}, err
	}
	// The login ends at /, which the portal sends on to its projects page.
	if resp.Request.URL.Path != "/projects" {
		return oidcUserLogin{}, fmt.Errorf("the login ended at %s: %.300s", resp.Request.URL, body)
	}
	me, err := oidcClient(nil, jar).User.GetCurrentUserInfo(ctx, user.NewGetCurrentUserInfoParams())
	if err != nil {
		return oidcUserLogin{}, fmt.Errorf("getCurrentUserInfo in the session: %w", err)
	}
	m := me.Payload.OIDCUserMeta
	if me.Payload.Username != oidcUser || m == nil || m.Secret == "" || m.UserID != me.Payload.UserID {
		return oidcUserLogin{}, fmt.Errorf("/users/current shows %s with oidc_user_meta %+v, want %s's CLI secret",
			me.Payload.Username, m, oidcUser)
	}
	return oidcUserLogin{name: oidcUser, secret: m.Secret, id: me.Payload.UserID}, nil
}

// oidcClient is a go-client of the OIDC-mode server, authenticating with
// auth or, when auth is nil, with jar's session cookie.
func oidcClient(auth runtime.ClientAuthInfoWriter, jar http.CookieJar) *harbor.HarborAPI {
	u, _ := url.Parse(oidcServerURL + harbor.DefaultBasePath)
	var tr http.RoundTripper = http.DefaultTransport
	if jar != nil {
		tr = jarTransport{jar: jar, next: tr}
	}
	return harbor.New(harbor.Config{URL: u, Transport: tr, AuthInfo: auth})
}

// jarTransport sends and keeps cookies, as a browser does.
type jarTransport struct {
	jar  http.CookieJar
	next http.RoundTripper
}

func (j jarTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	for _, c := range j.jar.Cookies(r.URL) {
		r.AddCookie(c)
	}
	resp, err := j.next.RoundTrip(r)
	if err == nil {
		j.jar.SetCookies(r.URL, resp.Cookies())
	}
	return resp, err
}

// basicV2 is GET /v2/ of the OIDC-mode server with basic auth, as docker
// login does, and returns the status.
func basicV2(ctx context.Context, username, password string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, oidcServerURL+"/v2/", nil)
	if err != nil {
		return 0, err
	}
	req.SetBasicAuth(username, password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}
