package ui

import (
	"net/http"
)

// projectSummary is /projects/{id}/summary: counts, quota and the proxy
// cache's registry.
type projectSummary struct {
	RepoCount         int64 `json:"repo_count"`
	ChartCount        int64 `json:"chart_count"`
	ProjectAdminCount int64 `json:"project_admin_count"`
	MaintainerCount   int64 `json:"maintainer_count"`
	DeveloperCount    int64 `json:"developer_count"`
	GuestCount        int64 `json:"guest_count"`
	LimitedGuestCount int64 `json:"limited_guest_count"`
	Quota             *struct {
		Hard map[string]int64 `json:"hard"`
		Used map[string]int64 `json:"used"`
	} `json:"quota"`
	Registry *registryRef `json:"registry"`
}

// Members is how many users and groups hold a role in the project.
func (s projectSummary) Members() int64 {
	return s.ProjectAdminCount + s.MaintainerCount + s.DeveloperCount + s.GuestCount + s.LimitedGuestCount
}

// Used and Limit are the storage quota's bytes; Limit is -1 for none.
func (s projectSummary) Used() int64 {
	if s.Quota == nil {
		return 0
	}
	return s.Quota.Used["storage"]
}
func (s projectSummary) Limit() int64 {
	if s.Quota == nil {
		return -1
	}
	if l, ok := s.Quota.Hard["storage"]; ok {
		return l
	}
	return -1
}

// Over tells whether the storage use has reached its limit, for the
// meter's warning text.
func (s projectSummary) Over() bool { return s.Limit() > 0 && s.Used() >= s.Limit() }

type projSummaryView struct {
	Project   *project
	Summary   projectSummary
	Deletable *struct {
		Deletable bool   `json:"deletable"`
		Message   string `json:"message"`
	}
}

func (u *UI) projSummaryPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	v := projSummaryView{Project: p}
	if _, err := s.api.get("/projects/"+itoa(p.ProjectID)+"/summary", &v.Summary); err != nil {
		u.failed(w, r, s, err)
		return
	}
	// Only who may delete the project learns whether it can be: for the
	// others the API answers 403 and the page offers no delete button.
	if _, err := s.api.get("/projects/"+itoa(p.ProjectID)+"/_deletable", &v.Deletable); err != nil {
		v.Deletable = nil
	}
	u.render(w, r, 0, "proj_summary", projectView(s, p, "summary", "proj.summary.title", v))
}

// projDelete deletes the project from its summary page; when the API
// refuses, the summary shows its reason (what the project still holds).
func (u *UI) projDelete(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	id := itoa(p.ProjectID)
	if _, err := s.api.send(http.MethodDelete, "/projects/"+id, nil, nil); err != nil {
		u.redirect(w, r, "/projects/"+id+"/summary", "", err)
		return
	}
	u.redirect(w, r, "/projects", "projects.deleted", nil)
}
