package ui

import (
	"net/http"
	"strconv"
	"strings"
)

// member is a project member as the API lists it.
type member struct {
	ID           int64  `json:"id"`
	EntityName   string `json:"entity_name"`
	EntityType   string `json:"entity_type"` // u or g
	RoleID       int    `json:"role_id"`
	Repositories string `json:"repositories"`
	CreationTime string `json:"creation_time"`
}

// Role is the member's role as a catalog key.
func (m member) Role() string { return roleKey(m.RoleID) }

// Group tells a group member from a user.
func (m member) Group() bool { return m.EntityType == "g" }

// memberRoles are the roles a member can hold, in Harbor's order: the
// role id and its catalog key.
var memberRoles = [...]struct {
	ID  int
	Key string
}{{1, "role.admin"}, {4, "role.maintainer"}, {2, "role.developer"}, {3, "role.guest"}, {5, "role.limited"}}

type membersView struct {
	Project *project
	List    *listQuery
	Members []member
}

// Roles lists the roles for the role selects.
func (membersView) Roles() []struct {
	ID  int
	Key string
} {
	return memberRoles[:]
}

func (u *UI) membersPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	l := parseList(r, "entity_name", "entity_type", "role_id")
	q := l.apiParams()
	if l.Search != "" {
		q.Set("entityname", l.Search)
	}
	v := membersView{Project: p, List: l}
	a, err := s.api.get("/projects/"+itoa(p.ProjectID)+"/members?"+q.Encode(), &v.Members)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total = a.total()
	u.render(w, r, 0, "members", projectView(s, p, "members", "mem.title", v))
}

// addMember grants a user (by name) or a group (LDAP DN, or the name of
// an HTTP or OIDC group) a role.
func (u *UI) addMember(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := u.pathID(w, r, s, "id")
	if !ok {
		return
	}
	back := "/projects/" + id + "/members"
	f := r.PostForm
	role, _ := strconv.Atoi(f.Get("role_id"))
	name := strings.TrimSpace(f.Get("name"))
	req := map[string]any{"role_id": role}
	switch f.Get("kind") {
	case "group":
		gt, _ := strconv.Atoi(f.Get("group_type"))
		g := map[string]any{"group_type": gt}
		if gt == 1 {
			g["ldap_group_dn"] = name
		} else {
			g["group_name"] = name
		}
		req["member_group"] = g
	default:
		req["member_user"] = map[string]string{"username": name}
	}
	if _, err := s.api.send(http.MethodPost, "/projects/"+id+"/members", req, nil); err != nil {
		u.redirect(w, r, back, "", err)
		return
	}
	u.redirect(w, r, back, "mem.added", nil)
}

// setMemberRole changes one member's role.
func (u *UI) setMemberRole(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := u.pathID(w, r, s, "id")
	if !ok {
		return
	}
	mid, ok := u.pathID(w, r, s, "mid")
	if !ok {
		return
	}
	back := "/projects/" + id + "/members"
	role, _ := strconv.Atoi(r.PostForm.Get("role_id"))
	_, err := s.api.send(http.MethodPut, "/projects/"+id+"/members/"+mid, map[string]int{"role_id": role}, nil)
	if err != nil {
		u.redirect(w, r, back, "", err)
		return
	}
	u.redirect(w, r, back, "mem.rolechanged", nil)
}

// removeMember removes one member.
func (u *UI) removeMember(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := u.pathID(w, r, s, "id")
	if !ok {
		return
	}
	mid, ok := u.pathID(w, r, s, "mid")
	if !ok {
		return
	}
	back := "/projects/" + id + "/members"
	if _, err := s.api.send(http.MethodDelete, "/projects/"+id+"/members/"+mid, nil, nil); err != nil {
		u.redirect(w, r, back, "", err)
		return
	}
	u.redirect(w, r, back, "mem.removed", nil)
}

// qText makes a search box's text safe inside the API's q syntax, whose
// commas and brackets would split or nest terms.
func qText(s string) string {
	return strings.Map(func(c rune) rune {
		if strings.ContainsRune(",[]{}()~=", c) {
			return -1
		}
		return c
	}, s)
}
