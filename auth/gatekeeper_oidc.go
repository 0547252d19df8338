package auth

import (
	"context"
	"errors"

	"github.com/berthlabs/berth/rbac"
)

// ExternalGroups tells what an identity provider last reported about a
// user: its groups and whether its admin group makes it a system admin
// (auth/oidc's Service implements it). It serves callers identified
// without credentials, such as a browser session, for whom no
// ExternalAuthenticator runs. Users it does not know have no groups.
type ExternalGroups interface {
	ExternalGroups(ctx context.Context, username string) (groups []string, admin bool, err error)
}

// WithExternalGroups makes PrincipalFor add the groups and admin rights
// src reports.
func WithExternalGroups(src ExternalGroups) GatekeeperOption {
	return func(g *Gatekeeper) { g.groups = src }
}

// PrincipalFor is the principal of a user identified by other means than
// its credentials (a browser session): its stored system admin flag, and
// the groups and admin rights WithExternalGroups' source reports. A user
// that does not exist is ErrInvalidCredentials.
func (g *Gatekeeper) PrincipalFor(ctx context.Context, username string) (rbac.Principal, error) {
	u, err := g.users.Get(ctx, username)
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			return rbac.Principal{}, ErrInvalidCredentials
		}
		return rbac.Principal{}, err
	}
	p := rbac.Principal{Kind: rbac.User, Name: u.Name, SystemAdmin: u.SystemAdmin}
	if g.groups != nil {
		groups, admin, err := g.groups.ExternalGroups(ctx, u.Name)
		if err != nil {
			return rbac.Principal{}, err
		}
		p.Groups, p.SystemAdmin = groups, p.SystemAdmin || admin
	}
	return p, nil
}
