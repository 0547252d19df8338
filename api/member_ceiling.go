package api

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
)

// maxCreatorChain bounds how many robots that made robots are followed to
// the user at the root.
const maxCreatorChain = 8

// checkRoleCeiling succeeds when the caller may give, or take from
// someone, role in project p: the caller holds every permission of the
// role there (as for robots, nobody grants more than they hold), and for
// a robot, so does every account up its creator chain, a robot holding no
// role of its own. System administrators may grant any role. act says
// what is being done, for the message ("grant", "change the role of a
// member who is", "remove a member who is").
func (c *call) checkRoleCeiling(p project.Project, role, act string) error {
	if admin, err := c.isAdmin(); err != nil || admin {
		return err
	}
	perms := rbac.Permissions(rbac.Role(role))
	if perms == nil {
		return forbidden(fmt.Sprintf("only system administrators may %s %s: it is not a built-in role", act, strconv.Quote(role)))
	}
	chain, err := c.creatorChain()
	if err != nil {
		return err
	}
	for i, who := range chain {
		for _, perm := range perms {
			d, err := c.a.deps.Access.Decide(c.ctx(), who, p.Name, "", perm)
			if err != nil {
				return fmt.Errorf("deciding %s for %q in %q: %w", perm, who.Name, p.Name, err)
			}
			if d.Allowed {
				continue
			}
			holder := "you do not hold it there"
			if i > 0 {
				holder = fmt.Sprintf("the robot's creator %s does not hold it there (a robot grants no more than whoever made it)",
					strconv.Quote(who.Name))
			}
			return forbidden(fmt.Sprintf("you cannot %s %s in project %s: the role holds %s, and %s",
				act, role, strconv.Quote(p.Name), perm, holder))
		}
	}
	return nil
}

// creatorChain is the caller and, for a robot, who created it, up to a
// user: the principals whose permissions bound what the caller grants. A
// creator is taken as the user account it is now (its directory groups
// are not known while it is not signed in, so roles held through them do
// not count); a creator that no longer exists grants nothing.
func (c *call) creatorChain() ([]rbac.Principal, error) {
	chain := []rbac.Principal{c.p}
	for cur := c.p; cur.Kind == rbac.Robot; {
		if len(chain) > maxCreatorChain {
			return nil, forbidden("robot " + strconv.Quote(c.p.Name) + " was made by a chain of robots too long to follow; a user must do this")
		}
		r, err := c.a.deps.Robots.Get(c.ctx(), cur.Name)
		if err != nil {
			return nil, c.lostCreator(cur.Name, err)
		}
		switch {
		case r.CreatedBy == "":
			return nil, forbidden("robot " + strconv.Quote(r.Name) + " has no recorded creator, so it cannot grant roles; a user must do this")
		case auth.IsRobotName(r.CreatedBy):
			cur = rbac.Principal{Kind: rbac.Robot, Name: r.CreatedBy}
		default:
			u, err := c.a.deps.Users.Get(c.ctx(), r.CreatedBy)
			if err != nil {
				return nil, c.lostCreator(r.CreatedBy, err)
			}
			cur = rbac.Principal{Kind: rbac.User, Name: u.Name, SystemAdmin: u.SystemAdmin}
		}
		chain = append(chain, cur)
	}
	return chain, nil
}

func (c *call) lostCreator(name string, err error) error {
	if errors.Is(err, auth.ErrNotFound) {
		return forbidden("robot " + strconv.Quote(c.p.Name) + " was made by " + strconv.Quote(name) +
			", which no longer exists, so it cannot grant roles")
	}
	return err
}
