// Package oidctest runs an OpenID provider for tests: zitadel's (pkg/op)
// with its example storage and login form, in process on an httptest
// server. Its users carry a "groups" claim (in userinfo), and can be
// disabled: a disabled user can neither log in nor refresh a token.
//
//	p := oidctest.Start(t, "https://berth.test/c/oidc/callback")
//	p.AddUser("u1", "alice", "alice-pw", "devs")
//	// Config: Issuer p.Issuer(), ClientID oidctest.ClientID, ClientSecret oidctest.ClientSecret
//	resp, _ := p.SubmitLogin(browser, authRequestID, "alice", "alice-pw")
package oidctest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	zoidc "github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
	"golang.org/x/text/language"
)

// The client the provider knows.
const (
	ClientID     = "berth"
	ClientSecret = "berth-client-secret"
)

// idpUser is a user of the test provider.
type idpUser struct {
	storage.User
	groups   []string
	disabled bool
}

// idpUsers implements storage.UserStore.
type idpUsers struct {
	mu    sync.Mutex
	users map[string]*idpUser // by ID
}

func (u *idpUsers) GetUserByID(id string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	if x, ok := u.users[id]; ok && !x.disabled {
		c := x.User
		return &c
	}
	return nil
}

func (u *idpUsers) GetUserByUsername(name string) *storage.User {
	u.mu.Lock()
	defer u.mu.Unlock()
	for _, x := range u.users {
		if x.Username == name && !x.disabled {
			c := x.User
			return &c
		}
	}
	return nil
}

func (u *idpUsers) ExampleClientID() string { return "service" }

func (u *idpUsers) groupsOf(id string) ([]string, bool) {
	u.mu.Lock()
	defer u.mu.Unlock()
	x, ok := u.users[id]
	if !ok || x.disabled {
		return nil, false
	}
	return append([]string(nil), x.groups...), true
}

// idpStorage adds the groups claim and disabled users to the example
// storage.
type idpStorage struct {
	*storage.Storage
	users *idpUsers
}

func (s *idpStorage) addGroups(ui *zoidc.UserInfo, sub string) error {
	g, ok := s.users.groupsOf(sub)
	if !ok {
		return errors.New("user disabled")
	}
	ui.AppendClaims("groups", g)
	return nil
}

func (s *idpStorage) SetUserinfoFromRequest(ctx context.Context, ui *zoidc.UserInfo, t op.IDTokenRequest, scopes []string) error {
	if err := s.Storage.SetUserinfoFromRequest(ctx, ui, t, scopes); err != nil {
		return err
	}
	return s.addGroups(ui, t.GetSubject())
}

func (s *idpStorage) SetUserinfoFromToken(ctx context.Context, ui *zoidc.UserInfo, tokenID, subject, origin string) error {
	if err := s.Storage.SetUserinfoFromToken(ctx, ui, tokenID, subject, origin); err != nil {
		return err
	}
	return s.addGroups(ui, ui.Subject)
}

func (s *idpStorage) TokenRequestByRefreshToken(ctx context.Context, rt string) (op.RefreshTokenRequest, error) {
	r, err := s.Storage.TokenRequestByRefreshToken(ctx, rt)
	if err != nil {
		return nil, err
	}
	if _, ok := s.users.groupsOf(r.GetSubject()); !ok {
		return nil, errors.New("user disabled")
	}
	return r, nil
}

// Provider is a running test provider.
type Provider struct {
	srv   *httptest.Server
	users *idpUsers
	mu    sync.Mutex
	auths []url.Values // the authorization requests it saw
}

// Issuer is the provider's issuer URL (its server's URL).
func (p *Provider) Issuer() string { return p.srv.URL }

// AddUser adds a user: id is its subject.
func (p *Provider) AddUser(id, username, password string, groups ...string) {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	p.users.users[id] = &idpUser{User: storage.User{ID: id, Username: username, Password: password,
		FirstName: "First", LastName: strings.ToUpper(id), Email: id + "@example.com", EmailVerified: true,
		PreferredLanguage: language.English}, groups: groups}
}

// SetGroups changes a user's groups.
func (p *Provider) SetGroups(id string, groups ...string) {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	p.users.users[id].groups = groups
}

// Disable disables a user: it can no longer log in or refresh tokens.
func (p *Provider) Disable(id string) {
	p.users.mu.Lock()
	defer p.users.mu.Unlock()
	p.users.users[id].disabled = true
}

// LastAuth is the query of the last authorization request.
func (p *Provider) LastAuth() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.auths) == 0 {
		return nil
	}
	return p.auths[len(p.auths)-1]
}

// Start starts the provider with a web client (ClientID, ClientSecret)
// whose redirect URI is redirectURL; it stops when t ends. The provider
// logs through slog's default logger.
func Start(t testing.TB, redirectURL string) *Provider {
	t.Helper()
	p := &Provider{users: &idpUsers{users: map[string]*idpUser{}}}
	var h http.Handler
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/auth" {
			p.mu.Lock()
			p.auths = append(p.auths, r.URL.Query())
			p.mu.Unlock()
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(p.srv.Close)
	clients := map[string]*storage.Client{ClientID: storage.WebClient(ClientID, ClientSecret, redirectURL)}
	st := &idpStorage{Storage: storage.NewStorageWithClients(p.users, clients), users: p.users}
	h = exampleop.SetupServer(p.srv.URL, st, nil, false)
	return p
}

// LoginPath is the provider's login form.
const LoginPath = "/login/username"

// SubmitLogin posts the provider's login form for the authorization
// request id (the authRequestID of the form's URL) with client, which
// then follows the redirects back to the relying party.
func (p *Provider) SubmitLogin(c *http.Client, id, username, password string) (*http.Response, string, error) {
	resp, err := c.PostForm(p.srv.URL+LoginPath, url.Values{"username": {username}, "password": {password}, "id": {id}})
	if err != nil {
		return nil, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, string(body), err
}
