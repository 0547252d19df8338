package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
)

// memberProject resolves the project of a member request and checks act on
// its members.
func (c *call) memberProject(act rbac.Action) (project.Project, error) {
	p, err := c.project()
	if err != nil {
		return p, err
	}
	return p, c.require(p.Name, "", permOn(rbac.ResourceMember, act))
}

// memberSorts are the fields members sort by.
func memberSorts() map[string]sortField[project.Member] {
	return map[string]sortField[project.Member]{
		"id":          func(m *project.Member) string { return sInt(m.ID) },
		"entity_name": func(m *project.Member) string { return memberEntity(*m) },
		"entity_type": func(m *project.Member) string { return strings.SplitN(m.Subject, ":", 2)[0] },
		"role_id":     func(m *project.Member) string { return sInt(int64(roleID(m.Role))) },
	}
}

// memberEntity is the user or group name of a member.
func memberEntity(m project.Member) string {
	_, entity, _ := strings.Cut(m.Subject, ":")
	return entity
}

func (a *API) listMembers(c *call) error {
	p, err := c.memberProject(rbac.ActionList)
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	store := func(pp core.Page) ([]project.Member, int, error) {
		return a.deps.Projects.ListMembers(c.ctx(), p.Name, project.MemberFilter{}, project.Page{Offset: pp.Offset, Limit: pp.Limit})
	}
	list := store
	if name := strings.ToLower(c.r.URL.Query().Get("entityname")); name != "" {
		// A substring of user and group names, as Harbor matches: filter
		// the project's members in memory.
		all, n, err := listAll(store)
		if err != nil {
			return err
		}
		if n > len(all) {
			return badRequest(fmt.Sprintf("entityname: the project has %d members, too many to filter (at most %d)", n, allPageSize))
		}
		list = sliceLister(slices.DeleteFunc(all, func(m project.Member) bool {
			return !strings.Contains(strings.ToLower(memberEntity(m)), name)
		}))
	}
	ms, total, err := listPage(c, pg, "", memberSorts(), list)
	if err != nil {
		return err
	}
	out, err := a.membersJSON(c.ctx(), p, ms)
	if err != nil {
		return err
	}
	return c.paged(pg, total, out)
}

func (a *API) createMember(c *call) error {
	p, err := c.memberProject(rbac.ActionCreate)
	if err != nil {
		return err
	}
	var req ProjectMember
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	role, ok := roleOf(req.RoleID)
	if !ok {
		return badRequest("role_id " + strconv.Itoa(req.RoleID) + ": want 1 (project admin), 2 (developer), 3 (guest), 4 (maintainer) or 5 (limited guest)")
	}
	var subject string
	switch u, g := req.MemberUser, req.MemberGroup; {
	case (u == nil) == (g == nil):
		return badRequest("give exactly one of member_user and member_group")
	case u != nil:
		name, err := a.memberUserName(c, *u)
		if err != nil {
			return err
		}
		subject = project.UserPrefix + name
	default:
		if g.LDAPGroupDN == "" && g.GroupName == "" && g.ID > 0 && a.cfg.userGroups != nil {
			// Harbor's clients name a group by its /usergroups id.
			ug, err := a.cfg.userGroups.Get(c.ctx(), g.ID)
			if err != nil {
				return err
			}
			g = &UserGroup{GroupName: ug.Name, LDAPGroupDN: ug.LDAPDN}
		}
		name := g.LDAPGroupDN
		if name != "" && a.cfg.groupDN != nil {
			name = a.cfg.groupDN(name)
		}
		if name == "" {
			name = g.GroupName
		}
		if name == "" {
			return badRequest("member_group needs ldap_group_dn or group_name")
		}
		subject = project.GroupPrefix + name
	}
	if err := c.checkRoleCeiling(p, role, "grant"); err != nil {
		return err
	}
	m, err := a.deps.Projects.AddMember(c.ctx(), project.Member{Project: p.Name, Subject: subject, Role: role,
		Repositories: req.Repositories})
	if err != nil {
		return err
	}
	return c.created(c.r.URL.Path+"/"+memberID(m), nil)
}

// member finds the grant the request's {mid} names: its number, or the
// opaque string earlier versions gave it (accepted for one release).
func (a *API) member(c *call, p project.Project) (project.Member, error) {
	mid := c.r.PathValue("mid")
	gone := notFound("member " + mid + " of project " + strconv.Quote(p.Name) + " does not exist")
	if mid != "" && strings.Trim(mid, "0123456789") == "" {
		id, err := strconv.ParseInt(mid, 10, 64)
		if err != nil {
			return project.Member{}, gone
		}
		m, err := a.deps.Projects.GetMember(c.ctx(), p.Name, id)
		if errors.Is(err, project.ErrNotFound) {
			return m, gone
		}
		return m, err
	}
	subject, repos, err := parseLegacyMemberID(mid)
	if err != nil {
		return project.Member{}, err
	}
	ms, _, err := a.deps.Projects.ListMembers(c.ctx(), p.Name, project.MemberFilter{SubjectPrefix: subject},
		project.Page{Limit: project.MaxPageSize})
	if err != nil {
		return project.Member{}, err
	}
	for _, m := range ms {
		if m.Subject == subject && m.Repositories == repos {
			return m, nil
		}
	}
	return project.Member{}, gone
}

func (a *API) getMember(c *call) error {
	p, err := c.memberProject(rbac.ActionRead)
	if err != nil {
		return err
	}
	m, err := a.member(c, p)
	if err != nil {
		return err
	}
	id, err := a.entityID(c.ctx(), m)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, memberJSON(p, m, id))
}

func (a *API) updateMember(c *call) error {
	p, err := c.memberProject(rbac.ActionUpdate)
	if err != nil {
		return err
	}
	var req RoleRequest
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	role, ok := roleOf(req.RoleID)
	if !ok {
		return badRequest("role_id " + strconv.Itoa(req.RoleID) + ": want 1 to 5")
	}
	m, err := a.member(c, p)
	if err != nil {
		return err
	}
	if err := c.checkRoleCeiling(p, m.Role, "change the role of a member who is"); err != nil {
		return err
	}
	if err := c.checkRoleCeiling(p, role, "grant"); err != nil {
		return err
	}
	if _, err := a.deps.Projects.UpdateMember(c.ctx(), project.Member{Project: p.Name, Subject: m.Subject,
		Repositories: m.Repositories, Role: role}); err != nil {
		return err
	}
	return c.ok()
}

func (a *API) deleteMember(c *call) error {
	p, err := c.memberProject(rbac.ActionDelete)
	if err != nil {
		return err
	}
	m, err := a.member(c, p)
	if err != nil {
		return err
	}
	if err := c.checkRoleCeiling(p, m.Role, "remove a member who is"); err != nil {
		return err
	}
	if err := a.deps.Projects.RemoveMember(c.ctx(), p.Name, m.Subject, m.Repositories); err != nil {
		return err
	}
	return c.ok()
}

// memberUserName is the user a member_user names: by username, or by
// user_id alone as Harbor's clients send it.
func (a *API) memberUserName(c *call, u UserEntity) (string, error) {
	name := auth.CanonicalUserName(u.Username)
	if name == "" && u.UserID > 0 {
		found, err := a.deps.Users.GetByID(c.ctx(), u.UserID)
		if err != nil {
			return "", err
		}
		return found.Name, nil
	}
	if name == "" {
		return "", badRequest("member_user needs username or user_id")
	}
	if _, err := a.deps.Users.Get(c.ctx(), name); err != nil {
		return "", err
	}
	return name, nil
}
