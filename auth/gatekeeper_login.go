package auth

import (
	"context"
	"errors"
	"fmt"

	"github.com/berthlabs/berth/rbac"
)

// ErrUnavailable means an identity provider could not be reached.
var ErrUnavailable = errors.New("identity provider unavailable")

// login checks Basic credentials: robots by their "robot$" prefix, then
// local users, then the external directory for users that are not local.
// Successful checks are cached briefly: a local password check costs an
// argon2 hash, too much for every request of a client that sends Basic
// credentials each time.
func (g *Gatekeeper) login(ctx context.Context, username, password, remote string) (rbac.Principal, error) {
	if p, ok := g.cache.get(username, password); ok {
		return p, nil
	}
	p, err := g.verify(ctx, username, password)
	if g.observe != nil {
		a := LoginAttempt{Username: username, OK: err == nil, RemoteAddr: remote}
		if err != nil {
			a.Reason = err.Error()
		}
		g.observe(ctx, a)
	}
	if err != nil {
		return rbac.Principal{}, err
	}
	g.cache.put(username, password, p)
	return p, nil
}

func (g *Gatekeeper) verify(ctx context.Context, username, password string) (rbac.Principal, error) {
	if IsRobotName(username) {
		r, err := g.robots.Authenticate(ctx, username, password)
		if err != nil {
			return rbac.Principal{}, err
		}
		return rbac.Principal{Kind: rbac.Robot, Name: r.Name}, nil
	}
	u, err := g.users.Authenticate(ctx, username, password)
	if err == nil {
		return rbac.Principal{Kind: rbac.User, Name: u.Name, SystemAdmin: u.SystemAdmin}, nil
	}
	if g.external == nil || !errors.Is(err, ErrInvalidCredentials) {
		return rbac.Principal{}, err
	}
	// Not a local account, or one that lives in the directory.
	if _, gerr := g.users.Get(ctx, username); gerr == nil && !errors.Is(err, ErrExternalUser) {
		return rbac.Principal{}, err // a local user with a wrong password
	}
	id, xerr := g.external.Authenticate(ctx, username, password)
	if xerr != nil {
		return rbac.Principal{}, xerr
	}
	source := id.Source
	if source == "" {
		source = SourceLDAP
	}
	u, oerr := g.users.Onboard(ctx, id.Username, id.Email, id.DisplayName, source)
	if oerr != nil {
		return rbac.Principal{}, fmt.Errorf("onboarding %s: %w", id.Username, oerr)
	}
	return rbac.Principal{Kind: rbac.User, Name: u.Name, SystemAdmin: u.SystemAdmin, Groups: id.Groups}, nil
}
