package auth

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
)

// ErrUnavailable means an identity provider could not be reached.
var ErrUnavailable = core.New(core.ErrUnavailable, "identity provider unavailable")

// login checks Basic credentials: robots by their "robot$" prefix, then
// local users, then the external directory for users that are not local.
// Successful checks are cached briefly: a local password check costs an
// argon2 hash, too much for every request of a client that sends Basic
// credentials each time.
func (g *Gatekeeper) login(ctx context.Context, username, password, remote string) (rbac.Principal, error) {
	if p, ok := g.cache.get(username, password); ok {
		return p, nil
	}
	// Concurrent checks of the same credentials (a client's parallel
	// requests before the first is cached) share one password check.
	key := credentialKey(username, password)
	v, err, _ := g.inflight.Do(string(key[:]), func() (any, error) {
		p, err := g.checkLogin(ctx, username, password, remote)
		return p, err
	})
	if err != nil {
		return rbac.Principal{}, err
	}
	return v.(rbac.Principal), nil
}

// checkLogin is one credential check: throttled, verified, observed and,
// on success, cached.
func (g *Gatekeeper) checkLogin(ctx context.Context, username, password, remote string) (rbac.Principal, error) {
	tk, err := g.throttle.admit(remote, throttleName(username))
	if err != nil {
		g.log.InfoContext(ctx, "login throttled", "user", username, "remote", remote, "err", err)
		return rbac.Principal{}, err
	}
	if tk.familiar {
		ctx = withHashPriority(ctx)
	}
	p, expires, err := g.verify(ctx, username, password)
	switch {
	case err == nil:
		tk.end(true)
	case isCredentialFailure(err):
		tk.end(false)
	default:
		tk.cancel()
	}
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
	g.cache.put(username, password, p, expires)
	return p, nil
}

// throttleName is the name a login is throttled under: canonical, and cut
// short, so that huge made-up names cannot bloat the table.
func throttleName(username string) string {
	n := CanonicalUserName(username)
	if len(n) > maxThrottledName {
		n = n[:maxThrottledName]
	}
	return n
}

// maxThrottledName is the longest valid user name.
const maxThrottledName = 255

// isCredentialFailure reports whether err says the credentials were
// wrong, rather than that they could not be checked.
func isCredentialFailure(err error) bool {
	return errors.Is(err, ErrInvalidCredentials) || errors.Is(err, ErrExpired) || errors.Is(err, ErrDisabled)
}

// verify checks credentials; expires is when they stop being valid on
// their own (a robot's expiry), zero when never.
func (g *Gatekeeper) verify(ctx context.Context, username, password string) (p rbac.Principal, expires time.Time, err error) {
	if IsRobotName(username) {
		r, err := g.robots.Authenticate(ctx, username, password)
		if err != nil {
			return p, expires, err
		}
		return rbac.Principal{Kind: rbac.Robot, Name: r.Name}, r.ExpiresAt, nil
	}
	u, err := g.users.Authenticate(ctx, username, password)
	if err == nil {
		return rbac.Principal{Kind: rbac.User, Name: u.Name, SystemAdmin: u.SystemAdmin}, expires, nil
	}
	if g.external == nil || !errors.Is(err, ErrInvalidCredentials) {
		return p, expires, err
	}
	// Not a local account, or one that lives in the directory.
	if _, gerr := g.users.Get(ctx, username); gerr == nil && !errors.Is(err, ErrExternalUser) {
		return p, expires, err // a local user with a wrong password
	}
	id, xerr := g.external.Authenticate(ctx, username, password)
	if xerr != nil {
		return p, expires, xerr
	}
	source := id.Source
	if source == "" {
		source = SourceLDAP
	}
	u, oerr := g.users.Onboard(ctx, id.Username, id.Email, id.DisplayName, source)
	if oerr != nil {
		return p, expires, fmt.Errorf("onboarding %s: %w", id.Username, oerr)
	}
	return rbac.Principal{Kind: rbac.User, Name: u.Name, SystemAdmin: u.SystemAdmin || id.SystemAdmin, Groups: id.Groups}, expires, nil
}
