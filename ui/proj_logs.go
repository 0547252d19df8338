package ui

import (
	"net/http"
	"strings"
)

// auditEntry is an entry of a project's audit log.
type auditEntry struct {
	ID           int64  `json:"id"`
	Username     string `json:"username"`
	Resource     string `json:"resource"`
	ResourceType string `json:"resource_type"`
	Operation    string `json:"operation"`
	OpTime       string `json:"op_time"`
	Result       string `json:"result"`
	Count        int    `json:"count"`
}

// logFilter is the log page's filter form: each field is a URL
// parameter, kept on the pager's links.
type logFilter struct {
	Operation, Resource, User, From, To string
}

// logOperations are the operations the filter suggests (the audit
// package's names); any other may be typed.
var logOperations = [...]string{"push", "pull", "delete", "member-add", "member-remove", "role-change",
	"robot-create", "robot-update", "robot-delete", "project-create", "project-update"}

type projLogsView struct {
	Project    *project
	List       *listQuery
	Filter     logFilter
	Entries    []auditEntry
	Operations []string
}

// apiQuery is the filter in the audit log's q syntax. Values are quoted
// so a comma in them cannot start another term; a date that is not one
// is dropped (the browser's date field sends none other).
func (f logFilter) apiQuery() string {
	var terms []string
	add := func(key, op, val string) {
		if val == "" {
			return
		}
		quote := `"`
		if strings.Contains(val, `"`) {
			quote = "'"
		}
		terms = append(terms, key+"="+op+quote+strings.ReplaceAll(val, quote, "")+quote)
	}
	add("operation", "", f.Operation)
	add("resource", "~", f.Resource)
	add("username", "", f.User)
	from, to := f.From, f.To
	if !dayOnly.MatchString(from) {
		from = ""
	}
	if !dayOnly.MatchString(to) {
		to = ""
	}
	if from != "" || to != "" {
		terms = append(terms, "op_time=["+from+"~"+to+"]")
	}
	return strings.Join(terms, ",")
}

func (u *UI) projLogsPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	l := parseList(r, "op_time")
	if r.URL.Query().Get("sort") == "" {
		l.Sort = "-op_time" // newest first, as the API's default
	}
	q := r.URL.Query()
	clip := func(s string) string { return strings.TrimSpace(s[:min(len(s), 200)]) }
	f := logFilter{Operation: clip(q.Get("operation")), Resource: clip(q.Get("resource")), User: clip(q.Get("user")),
		From: clip(q.Get("from")), To: clip(q.Get("to"))}
	params := l.apiParams()
	if aq := f.apiQuery(); aq != "" {
		params.Set("q", aq)
	}
	v := projLogsView{Project: p, List: l, Filter: f, Operations: logOperations[:]}
	a, err := s.api.get("/projects/"+esc(p.Name)+"/logs?"+params.Encode(), &v.Entries)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total = a.total()
	u.render(w, r, 0, "proj_logs", projectView(s, p, "logs", "proj.logs.title", v))
}
