package api

import (
	"errors"
	"github.com/berthlabs/berth/core"
	"net/http"
	"strconv"
	"time"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
)

// UserResp is a user as Harbor shows it. Paths address users by name or
// by user_id.
type UserResp struct {
	UserID          int64     `json:"user_id" doc:"Stable, never reused"`
	Username        string    `json:"username"`
	Email           string    `json:"email"`
	Realname        string    `json:"realname"`
	Comment         string    `json:"comment"`
	SysadminFlag    bool      `json:"sysadmin_flag"`
	AdminRoleInAuth bool      `json:"admin_role_in_auth" doc:"The caller is a system admin through its identity provider (an admin group); only set for /users/current"`
	Source          string    `json:"source" doc:"berth: local, ldap, ..."`
	CreationTime    time.Time `json:"creation_time"`
	UpdateTime      time.Time `json:"update_time"`
	// OIDCUserMeta is only in /users/current, for the user themself.
	OIDCUserMeta *OIDCUserInfo `json:"oidc_user_meta,omitempty" doc:"Only in /users/current, for a user who logs in through OIDC: the user's own OIDC record with the CLI secret (the password for docker login); never in listings or to others"`
}

// UserCreationReq creates a local user.
type UserCreationReq struct {
	Username string `json:"username"`
	Email    string `json:"email"`
	Realname string `json:"realname"`
	Password string `json:"password"`
	Comment  string `json:"comment,omitempty"`
}

// PasswordReq changes a password; old_password is required when users
// change their own.
type PasswordReq struct {
	OldPassword string `json:"old_password,omitempty"`
	NewPassword string `json:"new_password"`
}

// UserSysAdminFlag grants or revokes system admin.
type UserSysAdminFlag struct {
	SysadminFlag bool `json:"sysadmin_flag"`
}

// permUser is a system-level question about user accounts; only system
// admins hold it.
func permUser(act rbac.Action) rbac.Permission { return rbac.Permission{Resource: "user", Action: act} }

func userJSON(u *auth.User) UserResp {
	return UserResp{UserID: u.ID, Username: u.Name, Email: u.Email, Realname: u.DisplayName, Comment: u.Comment,
		SysadminFlag: u.SystemAdmin, Source: u.Source, CreationTime: u.CreatedAt, UpdateTime: u.UpdatedAt}
}

// self reports whether the user named name (canonical) is the caller.
func (c *call) self(name string) bool {
	return c.p.Kind == rbac.User && name == c.p.Name
}

// userListDoc documents the q and sort of /users.
const userListDoc = "q keys: username=value, username=~substring, username={a b} any of, email=~substring; " +
	"sort: username, email, creation_time, update_time, user_id"

// userSorts are the fields users sort by.
func userSorts() map[string]auth.UserOrder {
	return map[string]auth.UserOrder{"username": auth.UsersByName, "email": auth.UsersByEmail,
		"creation_time": auth.UsersByCreated, "update_time": auth.UsersByUpdated, "user_id": auth.UsersByID}
}

// userListFilter reads q and sort into f.
func userListFilter(c *call, f *auth.UserFilter) error {
	terms, err := parseQKeys(c.r.URL.Query().Get("q"), qSets("username"), qPlain("email"))
	if err != nil {
		return err
	}
	if t, ok := terms["username"]; ok {
		if t.kind == qFuzzy {
			f.NameContains = t.value
		} else {
			f.Names = termValues(t)
		}
	}
	if t, ok := terms["email"]; ok {
		f.EmailContains = t.value // exact or fuzzy: Harbor matches emails by substring
	}
	keys, err := parseSort(c.r.URL.Query().Get("sort"), "creation_time", "email", "update_time", "user_id", "username")
	if err != nil {
		return err
	}
	if len(keys) > 1 {
		return badRequest("sort: users sort by one field")
	}
	if len(keys) == 1 {
		f.Order, f.Desc = userSorts()[keys[0].field], keys[0].desc
	}
	return nil
}

func (a *API) listUsers(c *call) error {
	if err := c.requireAdmin(permUser(rbac.ActionList)); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	f := auth.UserFilter{NamePrefix: c.r.URL.Query().Get("username"), Page: core.Page{Offset: pg.offset(), Limit: pg.size}}
	if err := userListFilter(c, &f); err != nil {
		return err
	}
	us, total, err := a.deps.Users.List(c.ctx(), f)
	if err != nil {
		return err
	}
	out := make([]UserResp, 0, len(us))
	for i := range us {
		out = append(out, userJSON(&us[i]))
	}
	return c.paged(pg, total, out)
}

func (a *API) createUser(c *call) error {
	if err := c.requireAdmin(permUser(rbac.ActionCreate)); err != nil {
		return err
	}
	var req UserCreationReq
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	u, err := a.deps.Users.Create(c.ctx(), auth.User{Name: req.Username, Email: req.Email, DisplayName: req.Realname,
		Comment: req.Comment}, req.Password)
	if err != nil {
		return err
	}
	return c.created(BasePath+"/users/"+strconv.FormatInt(u.ID, 10), nil)
}

func (a *API) currentUser(c *call) error {
	if err := c.requireUser(); err != nil {
		return err
	}
	u, err := a.deps.Users.Get(c.ctx(), c.p.Name)
	if err != nil {
		return err
	}
	out := userJSON(u)
	if !u.SystemAdmin {
		if out.AdminRoleInAuth, err = c.isAdmin(); err != nil {
			return err
		}
	}
	if out.OIDCUserMeta, err = a.oidcUserMeta(c, u); err != nil {
		return err
	}
	return c.json(http.StatusOK, out)
}

func (a *API) getUser(c *call) error {
	name, err := c.userName()
	if err != nil {
		return err
	}
	if !c.self(name) {
		if err := c.requireAdmin(permUser(rbac.ActionRead)); err != nil {
			return err
		}
	}
	u, err := a.deps.Users.Get(c.ctx(), name)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, userJSON(u))
}

// deleteUser deletes a user, then its memberships, so that an account
// created later under the same name does not inherit them.
func (a *API) deleteUser(c *call) error {
	name, err := c.userName()
	if err != nil {
		return err
	}
	if err := c.requireAdmin(permUser(rbac.ActionDelete)); err != nil {
		return err
	}
	if c.self(name) {
		return forbidden("you cannot delete your own account")
	}
	if err := a.deps.Users.Delete(c.ctx(), name); err != nil {
		return err
	}
	grants, err := a.deps.Projects.MembershipsOf(c.ctx(), []string{project.UserPrefix + name})
	if err != nil {
		return err
	}
	for _, g := range grants {
		if err := a.deps.Projects.RemoveMember(c.ctx(), g.Project, g.Subject, g.Repositories); err != nil && !errors.Is(err, project.ErrNotFound) {
			return err
		}
	}
	return c.ok()
}

// setPassword lets users change their own password with the old one, and
// system admins reset anyone else's without it.
func (a *API) setPassword(c *call) error {
	name, err := c.userName()
	if err != nil {
		return err
	}
	self := c.self(name)
	if !self {
		if err := c.requireAdmin(permUser(rbac.ActionUpdate)); err != nil {
			return err
		}
	}
	var req PasswordReq
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	if !self {
		return a.okOr(c, a.deps.Users.SetPassword(c.ctx(), name, req.NewPassword))
	}
	if req.OldPassword == "" {
		return badRequest("old_password is required to change your own password")
	}
	err = a.deps.Users.ChangePassword(c.ctx(), name, req.OldPassword, req.NewPassword)
	if errors.Is(err, auth.ErrInvalidCredentials) && !errors.Is(err, auth.ErrExternalUser) {
		return badRequest("old_password is not correct")
	}
	return a.okOr(c, err)
}

func (a *API) setSysAdmin(c *call) error {
	name, err := c.userName()
	if err != nil {
		return err
	}
	if err := c.requireAdmin(permUser(rbac.ActionUpdate)); err != nil {
		return err
	}
	var req UserSysAdminFlag
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	return a.okOr(c, a.deps.Users.SetSystemAdmin(c.ctx(), name, req.SysadminFlag))
}

func (a *API) okOr(c *call, err error) error {
	if err != nil {
		return err
	}
	return c.ok()
}
