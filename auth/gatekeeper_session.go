package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
)

// SessionResolver names the user of a request's browser session (package
// auth/session implements it): username is "" when the request has none.
// groups are the directory groups the user logged in with.
type SessionResolver interface {
	Resolve(r *http.Request) (username string, groups []string, err error)
}

// WithSessions lets a browser session identify the caller of a request
// that sends no Authorization header. The session's user is looked up at
// each request: the session of an account that no longer exists is
// refused (ErrDisabled), and an administrator's rights follow the account
// as it is now.
func WithSessions(s SessionResolver) GatekeeperOption {
	return func(g *Gatekeeper) { g.sessions = s }
}

// sessionPrincipal is the caller of r's browser session, or anonymous.
func (g *Gatekeeper) sessionPrincipal(r *http.Request) (rbac.Principal, error) {
	if g.sessions == nil {
		return rbac.Principal{}, nil
	}
	name, groups, err := g.sessions.Resolve(r)
	if err != nil || name == "" {
		return rbac.Principal{}, err
	}
	u, err := g.users.Get(r.Context(), name)
	if errors.Is(err, ErrNotFound) {
		return rbac.Principal{}, fmt.Errorf("%w: the account %q of this browser session no longer exists", ErrDisabled, name)
	}
	if err != nil {
		return rbac.Principal{}, err
	}
	p := rbac.Principal{Kind: rbac.User, Name: u.Name, SystemAdmin: u.SystemAdmin, Groups: groups}
	if g.groups != nil {
		// An OIDC user's groups and admin rights are what the provider
		// said at the latest login or refresh, not what the session began
		// with.
		ext, admin, err := g.groups.ExternalGroups(r.Context(), u.Name)
		if err != nil {
			return rbac.Principal{}, err
		}
		p.Groups, p.SystemAdmin = append(p.Groups, ext...), p.SystemAdmin || admin
	}
	return p, nil
}

// BrowserLogin checks the credentials of a login to the web UI like any
// other login (throttled, observed, local users then the directory) and
// returns the user's canonical name and directory groups. Robot accounts
// are refused: they have no web UI. Refused credentials match
// core.ErrDenied; a throttled attempt is a *ThrottledError. It implements
// session.Authenticator.
func (g *Gatekeeper) BrowserLogin(ctx context.Context, username, password, remoteAddr string) (string, []string, error) {
	p, err := g.login(ctx, username, password, remoteAddr)
	switch {
	case err != nil && isCredentialFailure(err):
		return "", nil, fmt.Errorf("%w: %w", core.ErrDenied, err)
	case err != nil:
		return "", nil, err
	case p.Kind != rbac.User:
		return "", nil, fmt.Errorf("%w: robot accounts cannot sign in to the web UI", core.ErrDenied)
	}
	return p.Name, p.Groups, nil
}
