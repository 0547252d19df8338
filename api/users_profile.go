package api

import (
	"github.com/berthlabs/berth/core"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/rbac"
)

// UserProfile changes a user's own details (Harbor's UserProfile). As a
// request, absent fields are kept.
type UserProfile struct {
	Email    *string `json:"email,omitempty"`
	Realname *string `json:"realname,omitempty"`
	Comment  *string `json:"comment,omitempty"`
}

// UserSearchRespItem is one user found by searchUsers.
type UserSearchRespItem struct {
	UserID   int64  `json:"user_id"`
	Username string `json:"username"`
}

// updateUserProfile changes a user's email, realname and comment: the user
// itself, or a system admin. Users of a directory (LDAP) keep what the
// directory says: 412.
func (a *API) updateUserProfile(c *call) error {
	name, err := c.userName()
	if err != nil {
		return err
	}
	if !c.self(name) {
		if err := c.requireAdmin(permUser(rbac.ActionUpdate)); err != nil {
			return err
		}
	}
	req, err := decodeAs[UserProfile](c)
	if err != nil {
		return err
	}
	cur, err := a.deps.Users.Get(c.ctx(), name)
	if err != nil {
		return err
	}
	p := auth.Profile{Email: cur.Email, DisplayName: cur.DisplayName, Comment: cur.Comment}
	if req.Email != nil {
		p.Email = *req.Email
	}
	if req.Realname != nil {
		p.DisplayName = *req.Realname
	}
	if req.Comment != nil {
		p.Comment = *req.Comment
	}
	_, err = a.deps.Users.UpdateProfile(c.ctx(), name, p)
	return a.okOr(c, err)
}

// searchUsers finds users whose name contains the username parameter, for
// any signed-in caller (to pick a member to add, for example): it shows
// only names and IDs.
func (a *API) searchUsers(c *call) error {
	if c.p.Kind == rbac.Anonymous {
		return unauthorized("authentication required")
	}
	q := c.r.URL.Query().Get("username")
	if q == "" {
		return badRequest("username is required: part of the names to find")
	}
	if len(q) > auth.MaxUserNameLen {
		return badRequest("username is longer than any user name")
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	us, total, err := a.deps.Users.List(c.ctx(), auth.UserFilter{NameContains: q, Page: core.Page{Offset: pg.offset(), Limit: pg.size}})
	if err != nil {
		return err
	}
	out := make([]UserSearchRespItem, 0, len(us))
	for _, u := range us {
		out = append(out, UserSearchRespItem{UserID: u.ID, Username: u.Name})
	}
	return c.paged(pg, total, out)
}
