package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
)

// UserGroups is the user group store as the /usergroups endpoints use it;
// *auth.UserGroups implements it.
type UserGroups interface {
	Create(ctx context.Context, g auth.UserGroup) (auth.UserGroup, error)
	Get(ctx context.Context, id int64) (auth.UserGroup, error)
	List(ctx context.Context, f auth.UserGroupFilter) ([]auth.UserGroup, int, error)
	Rename(ctx context.Context, id int64, name string) (auth.UserGroup, error)
	Delete(ctx context.Context, id int64) error
}

// WithUserGroups serves /usergroups: system admins list, create, rename
// and delete groups (an LDAP group is checked against WithLDAP's
// directory); any signed-in caller searches them by name.
func WithUserGroups(g UserGroups) Option { return func(c *config) { c.userGroups = g } }

const pUserGroup = "/usergroups/{group_id}"

func (a *API) userGroupRoutes() []route {
	if a.cfg.userGroups == nil {
		return nil
	}
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	return []route{
		{method: get, path: "/usergroups", id: "listUserGroups", tag: "usergroup",
			summary: "List user groups by id (system admins; q keys: group_name=~part, ldap_group_dn, group_type; sort: id, group_name, group_type, creation_time, update_time)",
			query: append([]param{{"q", "string", "Filter: comma-separated key=value terms", false},
				{"group_name", "string", "Keep groups whose name contains this", false},
				{"ldap_group_dn", "string", "Keep the LDAP group with this DN", false}, sorting}, paging...),
			resp: []UserGroup{}, paged: true, handle: a.listUserGroups},
		{method: post, path: "/usergroups", id: "createUserGroup", tag: "usergroup",
			summary: "Create a user group (system admins): an LDAP group (1) by its DN, checked in the directory; an HTTP (2) or OIDC (3) group by name",
			body:    UserGroup{}, status: http.StatusCreated, handle: a.createUserGroup},
		{method: get, path: "/usergroups/search", id: "searchUserGroups", tag: "usergroup",
			summary: "Groups whose name contains groupname (any signed-in caller)",
			query:   append([]param{{"groupname", "string", "Part of the group's name", true}}, paging...),
			resp:    []UserGroupSearchItem{}, paged: true, handle: a.searchUserGroups},
		{method: get, path: pUserGroup, id: "getUserGroup", tag: "usergroup", summary: "Get a user group (system admins)",
			resp: UserGroup{}, handle: a.getUserGroup},
		{method: put, path: pUserGroup, id: "updateUserGroup", tag: "usergroup",
			summary: "Rename a user group (system admins); an HTTP or OIDC group's project memberships follow it",
			body:    UserGroup{}, handle: a.updateUserGroup},
		{method: del, path: pUserGroup, id: "deleteUserGroup", tag: "usergroup",
			summary: "Delete a user group and its project memberships (system admins)", handle: a.deleteUserGroup},
	}
}

func permGroup(act rbac.Action) rbac.Permission { return permOn("user-group", act) }

func userGroupJSON(g auth.UserGroup) UserGroup {
	return UserGroup{ID: g.ID, GroupName: g.Name, GroupType: int(g.Type), LDAPGroupDN: g.LDAPDN}
}

// userGroupSorts are the fields user groups sort by (by id unless asked).
func userGroupSorts() map[string]sortField[auth.UserGroup] {
	return map[string]sortField[auth.UserGroup]{
		"id":            func(g *auth.UserGroup) string { return sInt(g.ID) },
		"group_name":    func(g *auth.UserGroup) string { return g.Name },
		"group_type":    func(g *auth.UserGroup) string { return sInt(int64(g.Type)) },
		"creation_time": func(g *auth.UserGroup) string { return sTime(g.CreatedAt) },
		"update_time":   func(g *auth.UserGroup) string { return sTime(g.UpdatedAt) },
	}
}

func (a *API) listUserGroups(c *call) error {
	if err := c.requireAdmin(permGroup(rbac.ActionList)); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	q := c.r.URL.Query()
	terms, err := parseQ(q.Get("q"), "group_name", "ldap_group_dn", "group_type")
	if err != nil {
		return err
	}
	f := auth.UserGroupFilter{NameContains: q.Get("group_name"), LDAPDN: q.Get("ldap_group_dn")}
	if t, ok := terms["group_name"]; ok {
		f.NameContains = t.value
	}
	if t, ok := terms["ldap_group_dn"]; ok {
		f.LDAPDN = t.value
	}
	if t, ok := terms["group_type"]; ok {
		n, err := strconv.Atoi(t.value)
		if err != nil || n < 1 || n > 3 {
			return badRequest("q key group_type " + strconv.Quote(t.value) + ": want 1 (LDAP), 2 (HTTP) or 3 (OIDC)")
		}
		f.Type = auth.GroupType(n)
	}
	if f.LDAPDN != "" {
		f.LDAPDN = a.canonicalDN(f.LDAPDN)
	}
	groups, total, err := listPage(c, pg, "id", userGroupSorts(), func(p core.Page) ([]auth.UserGroup, int, error) {
		f.Page = p
		return a.cfg.userGroups.List(c.ctx(), f)
	})
	if err != nil {
		return err
	}
	return c.paged(pg, total, convertAll(groups, func(g *auth.UserGroup) UserGroup { return userGroupJSON(*g) }))
}

func (a *API) createUserGroup(c *call) error {
	if err := c.requireAdmin(permGroup(rbac.ActionCreate)); err != nil {
		return err
	}
	req, err := decodeAs[UserGroup](c)
	if err != nil {
		return err
	}
	g := auth.UserGroup{Name: strings.TrimSpace(req.GroupName), Type: auth.GroupType(req.GroupType),
		LDAPDN: strings.TrimSpace(req.LDAPGroupDN)}
	if g.Type == 0 && g.LDAPDN != "" {
		g.Type = auth.GroupLDAP
	}
	switch g.Type {
	case auth.GroupLDAP:
		if err := a.checkLDAPGroup(c, &g); err != nil {
			return err
		}
	case auth.GroupHTTP, auth.GroupOIDC:
	default:
		return badRequest("group_type " + strconv.Itoa(req.GroupType) + ": want 1 (LDAP, with ldap_group_dn), 2 (HTTP) or 3 (OIDC)")
	}
	created, err := a.cfg.userGroups.Create(c.ctx(), g)
	if err != nil {
		return err
	}
	return c.created(BasePath+"/usergroups/"+strconv.FormatInt(created.ID, 10), nil)
}

// checkLDAPGroup finds g's DN in the directory and spells it as
// memberships bind it; an empty name takes the directory's.
func (a *API) checkLDAPGroup(c *call, g *auth.UserGroup) error {
	if a.cfg.ldap == nil {
		return errNoLDAP()
	}
	if g.LDAPDN == "" {
		return badRequest("an LDAP group (group_type 1) needs its ldap_group_dn")
	}
	found, err := a.cfg.ldap.GroupByDN(c.ctx(), g.LDAPDN)
	if err != nil {
		return ldapError(err)
	}
	if found == nil {
		return badRequest("no LDAP group at " + strconv.Quote(g.LDAPDN) + " (under the group base DN, matching the group filter)")
	}
	g.LDAPDN = a.canonicalDN(found.DN)
	if g.Name == "" {
		g.Name = found.Name
	}
	return nil
}

// userGroup returns the group the path's {group_id} names.
func (a *API) userGroup(c *call) (auth.UserGroup, error) {
	s := c.r.PathValue("group_id")
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id < 1 {
		return auth.UserGroup{}, badRequest("group_id " + strconv.Quote(s) + ": want a positive number")
	}
	return a.cfg.userGroups.Get(c.ctx(), id)
}

func (a *API) getUserGroup(c *call) error {
	if err := c.requireAdmin(permGroup(rbac.ActionRead)); err != nil {
		return err
	}
	g, err := a.userGroup(c)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, userGroupJSON(g))
}

func (a *API) updateUserGroup(c *call) error {
	if err := c.requireAdmin(permGroup(rbac.ActionUpdate)); err != nil {
		return err
	}
	g, err := a.userGroup(c)
	if err != nil {
		return err
	}
	req, err := decodeAs[UserGroup](c)
	if err != nil {
		return err
	}
	switch {
	case req.GroupType != 0 && req.GroupType != int(g.Type):
		return badRequest("group_type cannot change; create another group")
	case req.LDAPGroupDN != "" && a.canonicalDN(strings.TrimSpace(req.LDAPGroupDN)) != g.LDAPDN:
		return badRequest("ldap_group_dn cannot change; create another group")
	case strings.TrimSpace(req.GroupName) == "":
		return badRequest("group_name is required: only the name changes")
	}
	_, err = a.cfg.userGroups.Rename(c.ctx(), g.ID, req.GroupName)
	return a.okOr(c, err)
}

func (a *API) deleteUserGroup(c *call) error {
	if err := c.requireAdmin(permGroup(rbac.ActionDelete)); err != nil {
		return err
	}
	g, err := a.userGroup(c)
	if err != nil {
		return err
	}
	return a.okOr(c, a.cfg.userGroups.Delete(c.ctx(), g.ID))
}

func (a *API) searchUserGroups(c *call) error {
	if c.p.Kind == rbac.Anonymous {
		return unauthorized("authentication required")
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	name := strings.TrimSpace(c.r.URL.Query().Get("groupname"))
	if name == "" {
		return badRequest("groupname is required")
	}
	groups, total, err := a.cfg.userGroups.List(c.ctx(), auth.UserGroupFilter{NameContains: name,
		Page: core.Page{Offset: pg.offset(), Limit: pg.size}})
	if err != nil {
		return err
	}
	out := make([]UserGroupSearchItem, 0, len(groups))
	for _, g := range groups {
		out = append(out, UserGroupSearchItem{ID: g.ID, GroupName: g.Name, GroupType: int(g.Type)})
	}
	return c.paged(pg, total, out)
}
