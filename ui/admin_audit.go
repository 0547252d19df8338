package ui

import (
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
)

// adminAuditEntry is an audit log entry as /audit-logs lists it.
type adminAuditEntry struct {
	ID            int64  `json:"id"`
	Username      string `json:"username"`
	Resource      string `json:"resource"`
	ResourceType  string `json:"resource_type"`
	Operation     string `json:"operation"`
	OpTime        string `json:"op_time"`
	Result        string `json:"result"`
	Project       string `json:"project"`
	AttemptedUser string `json:"attempted_user"`
}

// auditFilters are the audit log page's filter fields, each a key of the
// API's q.
var auditFilters = [...]string{"username", "operation", "resource_type", "resource", "project"}

// auditQuery is the filter of an audit log page, from its URL.
type auditQuery struct {
	Fields   map[string]string // filter field -> value
	From, To string            // 2006-01-02
	Projects []project         // for a non-admin's choice of project log
	Project  string            // the project whose log a non-admin reads
}

var dayOnly = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`)

func parseAuditQuery(r *http.Request) *auditQuery {
	q := r.URL.Query()
	a := &auditQuery{Fields: map[string]string{}}
	for _, k := range auditFilters {
		if v := strings.TrimSpace(q.Get(k)); v != "" && len(v) < 256 {
			a.Fields[k] = v
		}
	}
	if v := q.Get("from"); dayOnly.MatchString(v) {
		a.From = v
	}
	if v := q.Get("to"); dayOnly.MatchString(v) {
		a.To = v
	}
	return a
}

// q is the filter in the API's syntax: key=value terms, quoted, the
// resource matched as a prefix, the time as a [from~to] range of days.
func (a *auditQuery) q() string {
	var terms []string
	for _, k := range auditFilters {
		v, ok := a.Fields[k]
		if !ok || strings.ContainsAny(v, `"`) {
			continue
		}
		op := "="
		if k == "resource" {
			op = "=~"
		}
		terms = append(terms, k+op+`"`+v+`"`)
	}
	if a.From != "" || a.To != "" {
		terms = append(terms, "op_time=["+a.From+"~"+a.To+"]")
	}
	return strings.Join(terms, ",")
}

// Query is the filter as the page's own query string (for the export link).
func (a *auditQuery) Query() string {
	v := url.Values{}
	for k, x := range a.Fields {
		v.Set(k, x)
	}
	if a.From != "" {
		v.Set("from", a.From)
	}
	if a.To != "" {
		v.Set("to", a.To)
	}
	return v.Encode()
}

// Field is one filter's value.
func (a *auditQuery) Field(k string) string { return a.Fields[k] }

type auditView struct {
	List    *listQuery
	Filter  *auditQuery
	Entries []adminAuditEntry
	Path    string // /admin/audit or /logs
	Admin   bool   // the whole log; else one project's
}

// auditSource is the API list that answers for the page: the whole log
// (the API refuses it to all but system admins), or the chosen project's
// (the API says whether the user may read it).
func auditSource(whole bool, f *auditQuery) string {
	if whole {
		return "/audit-logs"
	}
	return "/projects/" + esc(f.Project) + "/logs"
}

// auditPage is the whole audit log (system admins).
func (u *UI) auditPage(w http.ResponseWriter, r *http.Request, s *session) {
	u.auditList(w, r, s, "audit", "/admin/audit", true)
}

// logsPage is the audit log for any user: all of it for a system admin,
// a project's for its members.
func (u *UI) logsPage(w http.ResponseWriter, r *http.Request, s *session) {
	u.auditList(w, r, s, "logs", "/logs", s.user.Admin)
}

func (u *UI) auditList(w http.ResponseWriter, r *http.Request, s *session, nav, path string, whole bool) {
	l := parseList(r, "-op_time", "op_time")
	v := auditView{List: l, Filter: parseAuditQuery(r), Path: path, Admin: whole}
	if !whole {
		if !u.chooseProject(w, r, s, v.Filter) {
			return
		}
	}
	if whole || v.Filter.Project != "" {
		p := l.apiParams()
		if q := v.Filter.q(); q != "" {
			p.Set("q", q)
		}
		a, err := s.api.get(auditSource(whole, v.Filter)+"?"+p.Encode(), &v.Entries)
		if err != nil && !whole && statusOf(err) < 500 && statusOf(err) != http.StatusUnauthorized {
			// A project whose log the user's role may not read: the
			// page stays, to choose another, with the API's answer.
			vw := adminView(s, nav, "audit.title", v)
			vw.Error = err.Error()
			u.render(w, r, statusOf(err), "admin_audit", vw)
			return
		}
		if err != nil {
			u.failed(w, r, s, err)
			return
		}
		l.Total = a.total()
	}
	u.render(w, r, 0, "admin_audit", adminView(s, nav, "audit.title", v))
}

// chooseProject offers a non-admin the projects they belong to (among
// the first 100 they see, by name) and picks the one the URL names, or
// the first.
func (u *UI) chooseProject(w http.ResponseWriter, r *http.Request, s *session, f *auditQuery) bool {
	var visible []project
	if _, err := s.api.get("/projects?sort=name&page_size=100", &visible); err != nil {
		u.failed(w, r, s, err)
		return false
	}
	// Only members read a project's log: public projects the user is
	// not a member of are left out.
	for _, p := range visible {
		if len(p.RoleIDs) > 0 {
			f.Projects = append(f.Projects, p)
		}
	}
	f.Project = f.Fields["project"]
	delete(f.Fields, "project")
	if f.Project == "" && len(f.Projects) > 0 {
		f.Project = f.Projects[0].Name
	}
	return true
}

// auditExportMax bounds an export: the API pages it 100 entries at a
// time, so an export is at most this many calls of one page each.
const auditExportMax = 10000

// exportAudit exports the whole log (system admins).
func (u *UI) exportAudit(w http.ResponseWriter, r *http.Request, s *session) {
	u.exportLog(w, r, s, true)
}

// exportLogs exports what /logs shows.
func (u *UI) exportLogs(w http.ResponseWriter, r *http.Request, s *session) {
	u.exportLog(w, r, s, s.user.Admin)
}

// exportLog streams the filtered log as CSV, page by page through the
// API (never the whole log at once).
func (u *UI) exportLog(w http.ResponseWriter, r *http.Request, s *session, whole bool) {
	f := parseAuditQuery(r)
	if !whole {
		if !u.chooseProject(w, r, s, f) {
			return
		}
	}
	p := url.Values{"page_size": {"100"}, "sort": {"-op_time"}}
	if q := f.q(); q != "" {
		p.Set("q", q)
	}
	// The first page before any byte is written, so a refusal is a page.
	var first []adminAuditEntry
	if _, err := s.api.get(auditSource(whole, f)+"?"+p.Encode()+"&page=1", &first); err != nil {
		u.failed(w, r, s, err)
		return
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="audit-log.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"id", "time", "username", "operation", "resource_type", "resource", "project", "result"})
	page := first
	for n := 1; len(page) > 0 && n*100 <= auditExportMax; n++ {
		for _, e := range page {
			user := e.Username
			if user == "" {
				user = e.AttemptedUser
			}
			_ = cw.Write([]string{strconv.FormatInt(e.ID, 10), e.OpTime, csvSafe(user), csvSafe(e.Operation),
				csvSafe(e.ResourceType), csvSafe(e.Resource), csvSafe(e.Project), csvSafe(e.Result)})
		}
		if len(page) < 100 {
			break
		}
		page = nil
		if _, err := s.api.get(auditSource(whole, f)+"?"+p.Encode()+"&page="+strconv.Itoa(n+1), &page); err != nil {
			u.log.Error("ui: audit export", "err", err)
			break
		}
	}
	cw.Flush()
}

// csvSafe keeps a spreadsheet from reading a value as a formula.
func csvSafe(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
