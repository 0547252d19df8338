package server

import (
	"context"
	"errors"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/project"
)

// wireUserGroups adds Harbor's user groups (/usergroups), whose deletion
// removes their project memberships and whose renaming (HTTP and OIDC
// groups) moves them, and the /ldap endpoints over the directory users
// log in against (without one they answer "LDAP is not configured"). They
// need auth on.
func wireUserGroups(a *Assembly) error {
	if !a.Auth() {
		return nil
	}
	groups, err := auth.NewUserGroups(a.Context(), a.DB(), auth.WithGroupMemberships(groupGrants{a.Projects()}))
	if err != nil {
		return err
	}
	a.AddAPIOptions(api.WithUserGroups(groups), api.WithEntityIDs(memberEntityIDs(a.id.users, groups)))
	if a.id.directory != nil {
		a.AddAPIOptions(api.WithLDAP(a.id.directory))
	}
	return nil
}

// groupGrants removes and moves a group subject's grants in every project.
type groupGrants struct{ projects *project.Store }

// ForgetSubject removes every grant of subject.
func (g groupGrants) ForgetSubject(ctx context.Context, subject string) error {
	return g.MoveSubject(ctx, subject, "")
}

// MoveSubject grants to what from holds, with the same roles and
// repository patterns, and removes from's grants; to "" only removes.
func (g groupGrants) MoveSubject(ctx context.Context, from, to string) error {
	grants, err := g.projects.MembershipsOf(ctx, []string{from})
	if err != nil {
		return err
	}
	for _, m := range grants {
		if to != "" {
			m.Subject = to
			if _, err := g.projects.AddMember(ctx, m); err != nil && !errors.Is(err, project.ErrExists) {
				return err
			}
		}
		if err := g.projects.RemoveMember(ctx, m.Project, from, m.Repositories); err != nil && !errors.Is(err, project.ErrNotFound) {
			return err
		}
	}
	return nil
}

// memberEntityIDs finds the entity_id of a project member: the user's
// number, or the user group's (by DN for directory groups, which members
// name by DN, else by name, OIDC groups first).
func memberEntityIDs(users *auth.Users, groups *auth.UserGroups) api.EntityIDs {
	return func(ctx context.Context, kind, name string) (int64, error) {
		if kind == "u" {
			u, err := users.Get(ctx, name)
			if err != nil {
				return 0, err
			}
			return u.ID, nil
		}
		if g, err := groups.ByDN(ctx, name); err == nil || !errors.Is(err, auth.ErrNotFound) {
			return g.ID, err
		}
		for _, t := range []auth.GroupType{auth.GroupOIDC, auth.GroupHTTP} {
			if g, err := groups.ByName(ctx, t, name); err == nil || !errors.Is(err, auth.ErrNotFound) {
				return g.ID, err
			}
		}
		return 0, auth.ErrNotFound
	}
}
