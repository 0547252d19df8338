package ui

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// userGroup is a user group as /usergroups lists it.
type userGroup struct {
	ID          int64  `json:"id"`
	GroupName   string `json:"group_name"`
	GroupType   int    `json:"group_type"`
	LDAPGroupDN string `json:"ldap_group_dn"`
}

// TypeKey is the group's type as a catalog key.
func (g userGroup) TypeKey() string {
	switch g.GroupType {
	case 1:
		return "groups.ldap"
	case 2:
		return "groups.http"
	case 3:
		return "groups.oidc"
	}
	return "role.none"
}

type groupsView struct {
	List   *listQuery
	Groups []userGroup
	LDAP   bool        // the server authenticates against LDAP: offer the directory search
	Find   string      // the directory search's text
	Found  []userGroup // what it found
	Failed string      // why it failed
}

// groupsPage lists user groups and, with ?ldap=, searches the LDAP
// directory for groups to add.
func (u *UI) groupsPage(w http.ResponseWriter, r *http.Request, s *session) {
	l := parseList(r, "group_name", "group_type", "id")
	q := l.apiParams()
	if l.Search != "" {
		q.Set("group_name", l.Search)
	}
	v := groupsView{List: l, Find: strings.TrimSpace(r.URL.Query().Get("ldap"))}
	a, err := s.api.get("/usergroups?"+q.Encode(), &v.Groups)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total = a.total()
	var info systemInfo
	_, _ = s.api.get("/systeminfo", &info)
	v.LDAP = info.AuthMode == "ldap_auth"
	if v.Find != "" {
		if _, err := s.api.get("/ldap/groups/search?"+url.Values{"groupname": {v.Find}}.Encode(), &v.Found); err != nil {
			v.Failed = err.Error()
		}
	}
	u.render(w, r, 0, "groups", adminView(s, "groups", "groups.title", v))
}

// createGroup adds a group: an LDAP group by its DN (the directory must
// know it), an HTTP or OIDC group by its name.
func (u *UI) createGroup(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	gt, _ := strconv.Atoi(f.Get("group_type"))
	req := map[string]any{"group_type": gt, "group_name": strings.TrimSpace(f.Get("group_name"))}
	if gt == 1 {
		req["ldap_group_dn"] = strings.TrimSpace(f.Get("ldap_group_dn"))
	}
	if _, err := s.api.send(http.MethodPost, "/usergroups", req, nil); err != nil {
		u.redirect(w, r, "/admin/groups", "", err)
		return
	}
	u.redirect(w, r, "/admin/groups", "groups.createdok", nil)
}

func (u *UI) deleteGroup(w http.ResponseWriter, r *http.Request, s *session) {
	gid, ok := u.pathID(w, r, s, "gid")
	if !ok {
		return
	}
	_, err := s.api.send(http.MethodDelete, "/usergroups/"+gid, nil, nil)
	u.redirect(w, r, "/admin/groups", "groups.deleted", err)
}
