package ui

import (
	"net/http"
	"strconv"
)

// projectTabs are a project's pages, in the order of its tab bar: the
// path under /projects/{id}/ and the catalog key of the tab's name.
var projectTabs = [...][2]string{
	{"summary", "tab.summary"}, {"repositories", "tab.repositories"}, {"members", "tab.members"},
	{"labels", "tab.labels"}, {"scanner", "tab.scanner"}, {"policy", "tab.policy"},
	{"robots", "tab.robots"}, {"webhooks", "tab.webhooks"}, {"logs", "tab.logs"}, {"config", "tab.config"},
}

// Tabs lists the project tabs for the "projecthead" template.
func (v *view) Tabs() [][2]string { return projectTabs[:] }

// projectOf reads the project the {id} path segment names, as the user
// may see it; on failure it has answered (404 for a project the user may
// not see, as the API does).
func (u *UI) projectOf(w http.ResponseWriter, r *http.Request, s *session) (*project, bool) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
		return nil, false
	}
	var p project
	if _, err := s.api.get("/projects/"+itoa(id), &p); err != nil {
		u.failed(w, r, s, err)
		return nil, false
	}
	return &p, true
}

// projectView is the view of a project's page: the sidebar's Projects
// entry, the project's name in the title, the tab highlighted; data
// must have a Project field for the "projecthead" template.
func projectView(s *session, p *project, tab, title string, data any) *view {
	return &view{User: s.user, CSRF: s.api.csrf, Nav: "projects", Tab: tab, Title: title, TitleArg: p.Name, Data: data}
}

// pathID reads the path value name as a positive number; when it is not,
// it answers 404 and returns false.
func (u *UI) pathID(w http.ResponseWriter, r *http.Request, s *session, name string) (string, bool) {
	n, err := strconv.ParseInt(r.PathValue(name), 10, 64)
	if err != nil || n <= 0 {
		u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
		return "", false
	}
	return strconv.FormatInt(n, 10), true
}

// adminView is the view of a system administration page.
func adminView(s *session, nav, title string, data any) *view {
	return &view{User: s.user, CSRF: s.api.csrf, Nav: nav, Title: title, Data: data}
}
