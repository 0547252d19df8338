package ui

import (
	"net/http"
	"strconv"
	"strings"
)

// project is a project as the API lists it.
type project struct {
	ProjectID    int64  `json:"project_id"`
	Name         string `json:"name"`
	OwnerName    string `json:"owner_name"`
	CreationTime string `json:"creation_time"`
	RepoCount    int    `json:"repo_count"`
	RoleIDs      []int  `json:"current_user_role_ids"`
	StorageLimit int64  `json:"storage_limit"`
	RegistryID   int64  `json:"registry_id"`
	Metadata     struct {
		Public               string `json:"public"`
		AutoScan             string `json:"auto_scan"`
		Severity             string `json:"severity"`
		PreventVul           string `json:"prevent_vul"`
		ContentTrust         string `json:"content_trust"`
		ReuseSysCVEAllowlist string `json:"reuse_sys_cve_allowlist"`
	} `json:"metadata"`
}

// Public tells whether anyone may pull.
func (p project) Public() bool { return p.Metadata.Public == "true" }

// Role is the highest role the user holds, as a catalog key.
func (p project) Role() string {
	best := 0
	rank := map[int]int{1: 5, 4: 4, 2: 3, 3: 2, 5: 1}
	for _, r := range p.RoleIDs {
		if rank[r] > rank[best] {
			best = r
		}
	}
	return roleKey(best)
}

// roleKey is a role id's catalog key.
func roleKey(id int) string {
	switch id {
	case 1:
		return "role.admin"
	case 2:
		return "role.developer"
	case 3:
		return "role.guest"
	case 4:
		return "role.maintainer"
	case 5:
		return "role.limited"
	}
	return "role.none"
}

// registry is a replication endpoint, for the proxy cache choice.
type registryRef struct {
	ID   int64  `json:"id"`
	Name string `json:"name"`
	URL  string `json:"url"`
	Type string `json:"type"`
}

type projectsView struct {
	List       *listQuery
	Projects   []project
	Registries []registryRef
}

func (u *UI) projectsPage(w http.ResponseWriter, r *http.Request, s *session) {
	l := parseList(r, "name", "creation_time", "repo_count")
	p := l.apiParams()
	if l.Search != "" {
		p.Set("name", l.Search)
	}
	if pub := r.URL.Query().Get("public"); pub == "true" || pub == "false" {
		p.Set("public", pub)
	}
	var v projectsView
	a, err := s.api.get("/projects?"+p.Encode(), &v.Projects)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total, v.List = a.total(), l
	if s.user.Admin {
		_, _ = s.api.get("/registries?page_size=100", &v.Registries)
	}
	u.render(w, r, 0, "projects", &view{User: s.user, CSRF: s.api.csrf, Nav: "projects", Title: "projects.title", Data: v})
}

// createProject creates a project from the form: name, public, storage
// limit (with its unit) and, for a proxy cache, the registry.
func (u *UI) createProject(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	req := map[string]any{"project_name": strings.TrimSpace(f.Get("name")),
		"metadata": map[string]string{"public": strconv.FormatBool(f.Get("public") == "true")}}
	if lim := strings.TrimSpace(f.Get("storage_limit")); lim != "" && lim != "-1" {
		n, err := strconv.ParseInt(lim, 10, 64)
		unit := map[string]int64{"MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}[f.Get("storage_unit")]
		if err != nil || n < 0 || unit == 0 || n > (1<<62)/unit {
			u.redirect(w, r, "/projects", "", errorText(u.cat.text(language(r), "projects.badlimit")))
			return
		}
		req["storage_limit"] = n * unit
	}
	if reg := f.Get("registry_id"); reg != "" {
		id, err := strconv.ParseInt(reg, 10, 64)
		if err != nil {
			u.redirect(w, r, "/projects", "", errorText("bad registry id"))
			return
		}
		req["registry_id"] = id
	}
	a, err := s.api.send(http.MethodPost, "/projects", req, nil)
	if err != nil {
		u.redirect(w, r, "/projects", "", err)
		return
	}
	id := a.location()
	u.redirect(w, r, "/projects/"+id+"/repositories", "projects.createdok", nil)
}

// deleteProject deletes a project; the API says what blocks it.
func (u *UI) deleteProject(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("id")
	if _, err := strconv.ParseInt(id, 10, 64); err != nil {
		u.redirect(w, r, "/projects", "", errorText("bad project id"))
		return
	}
	if _, err := s.api.send(http.MethodDelete, "/projects/"+id, nil, nil); err != nil {
		u.redirect(w, r, "/projects", "", err)
		return
	}
	u.redirect(w, r, "/projects", "projects.deleted", nil)
}
