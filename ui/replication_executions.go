package ui

import (
	"net/http"
	"strconv"
	"time"
)

// replExecution is one run of a rule.
type replExecution struct {
	ID         int64      `json:"id"`
	PolicyID   int64      `json:"policy_id"`
	Status     string     `json:"status"`
	StatusText string     `json:"status_text"`
	Trigger    string     `json:"trigger"`
	StartTime  time.Time  `json:"start_time"`
	EndTime    *time.Time `json:"end_time"`
	Total      int        `json:"total"`
	Failed     int        `json:"failed"`
	Succeed    int        `json:"succeed"`
	InProgress int        `json:"in_progress"`
	Stopped    int        `json:"stopped"`
}

// Running tells whether the execution has not ended.
func (e replExecution) Running() bool { return e.Status == "InProgress" || e.Status == "Pending" }

// replTask is the replication of one artifact.
type replTask struct {
	ID           int64      `json:"id"`
	ResourceType string     `json:"resource_type"`
	SrcResource  string     `json:"src_resource"`
	DstResource  string     `json:"dst_resource"`
	Operation    string     `json:"operation"`
	Status       string     `json:"status"`
	StartTime    *time.Time `json:"start_time"`
	EndTime      *time.Time `json:"end_time"`
}

type replExecutionsView struct {
	Policy     *replPolicy
	List       *listQuery
	Executions []replExecution
	Execution  *replExecution
	Tasks      []replTask
	Task       *replTask
	Log        string
	Status     string // the executions' status filter
	Refresh    bool   // something shown is still running
}

// statusBadge is the badge class of an execution's or task's status.
func statusBadge(status string) string {
	switch status {
	case "Succeed", "Success":
		return "ok"
	case "Failed", "Error":
		return "err"
	case "Stopped":
		return "warn"
	}
	return ""
}

// Badge, Started and Ended are what the lists show of an execution.
func (e replExecution) Badge() string   { return statusBadge(e.Status) }
func (e replExecution) Started() string { return localTime(e.StartTime) }
func (e replExecution) Ended() string   { return optionalTime(e.EndTime) }

// Badge, Started and Ended are what the task list shows of a task.
func (t replTask) Badge() string   { return statusBadge(t.Status) }
func (t replTask) Started() string { return optionalTime(t.StartTime) }
func (t replTask) Ended() string   { return optionalTime(t.EndTime) }

// optionalTime formats a time the API may leave out.
func optionalTime(t *time.Time) string {
	if t == nil {
		return localTime(time.Time{})
	}
	return localTime(*t)
}

// replExecutionsPage lists the rule's executions, newest first, with a
// status filter.
func (u *UI) replExecutionsPage(w http.ResponseWriter, r *http.Request, s *session) {
	pol, ok := u.replPolicyOf(w, r, s)
	if !ok {
		return
	}
	l := storeOrder(r, parseList(r, "start_time", "status", "end_time"))
	p := l.apiParams()
	p.Set("policy_id", itoa(pol.ID))
	v := replExecutionsView{Policy: pol, List: l, Status: r.URL.Query().Get("status")}
	if v.Status != "" {
		p.Set("status", v.Status)
	}
	a, err := s.api.get("/replication/executions?"+p.Encode(), &v.Executions)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total = a.total()
	for _, e := range v.Executions {
		v.Refresh = v.Refresh || e.Running()
	}
	u.render(w, r, 0, "replication-executions", replView(s, "repl.executions", v))
}

// replExecutionOf reads the rule {id} and its execution {eid}: an
// execution of another rule is not found.
func (u *UI) replExecutionOf(w http.ResponseWriter, r *http.Request, s *session) (*replPolicy, *replExecution, bool) {
	pol, ok := u.replPolicyOf(w, r, s)
	if !ok {
		return nil, nil, false
	}
	eid, err := strconv.ParseInt(r.PathValue("eid"), 10, 64)
	notFound := &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")}
	if err != nil || eid <= 0 {
		u.failed(w, r, s, notFound)
		return nil, nil, false
	}
	var e replExecution
	if _, err := s.api.get("/replication/executions/"+itoa(eid), &e); err != nil {
		u.failed(w, r, s, err)
		return nil, nil, false
	}
	if e.PolicyID != pol.ID {
		u.failed(w, r, s, notFound)
		return nil, nil, false
	}
	return pol, &e, true
}

// replTasksPage lists an execution's tasks.
func (u *UI) replTasksPage(w http.ResponseWriter, r *http.Request, s *session) {
	pol, e, ok := u.replExecutionOf(w, r, s)
	if !ok {
		return
	}
	l := storeOrder(r, parseList(r, "id", "status", "start_time", "end_time"))
	v := replExecutionsView{Policy: pol, Execution: e, List: l, Refresh: e.Running()}
	a, err := s.api.get("/replication/executions/"+itoa(e.ID)+"/tasks?"+l.apiParams().Encode(), &v.Tasks)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total = a.total()
	u.render(w, r, 0, "replication-tasks", replView(s, "repl.tasks", v))
}

// replTaskLog shows a task's log.
func (u *UI) replTaskLog(w http.ResponseWriter, r *http.Request, s *session) {
	pol, e, ok := u.replExecutionOf(w, r, s)
	if !ok {
		return
	}
	tid, err := strconv.ParseInt(r.PathValue("tid"), 10, 64)
	if err != nil || tid <= 0 {
		u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
		return
	}
	a, err := s.api.do(http.MethodGet, "/replication/executions/"+itoa(e.ID)+"/tasks/"+itoa(tid)+"/log", nil)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	v := replExecutionsView{Policy: pol, Execution: e, Task: &replTask{ID: tid}, Log: a.body.String(), Refresh: e.Running()}
	u.render(w, r, 0, "replication-log", replView(s, "repl.log", v))
}

// stopReplication stops a running execution.
func (u *UI) stopReplication(w http.ResponseWriter, r *http.Request, s *session) {
	id, err1 := strconv.ParseInt(r.PathValue("id"), 10, 64)
	eid, err2 := strconv.ParseInt(r.PathValue("eid"), 10, 64)
	if err1 != nil || err2 != nil {
		u.redirect(w, r, "/admin/replications", "", errorText("bad execution id"))
		return
	}
	back := "/admin/replications/" + itoa(id) + "/executions"
	var e replExecution
	if _, err := s.api.get("/replication/executions/"+itoa(eid), &e); err != nil || e.PolicyID != id {
		if err == nil {
			err = errorText(u.cat.text(language(r), "error.notfound"))
		}
		u.redirect(w, r, back, "", err)
		return
	}
	if _, err := s.api.send(http.MethodPut, "/replication/executions/"+itoa(eid), nil, nil); err != nil {
		u.redirect(w, r, back, "", err)
		return
	}
	u.redirect(w, r, back, "repl.stopped", nil)
}

// storeOrder keeps the API's own order (newest executions first, tasks
// and rules as created) unless the user picked a sort: any sort makes the
// API read the whole list (up to 10,000) to sort it.
func storeOrder(r *http.Request, l *listQuery) *listQuery {
	if r.URL.Query().Get("sort") == "" {
		l.Sort = ""
	}
	return l
}

// replStatusKey is the catalog key of an execution's or task's status.
func replStatusKey(status string) string {
	switch status {
	case "Pending":
		return "repl.st_pending"
	case "InProgress":
		return "repl.st_inprogress"
	case "Succeed":
		return "repl.st_succeed"
	case "Failed":
		return "repl.st_failed"
	case "Stopped":
		return "repl.st_stopped"
	}
	return "repl.st_unknown"
}

// StatusKey is the catalog key of the execution's status.
func (e replExecution) StatusKey() string { return replStatusKey(e.Status) }

// StatusKey is the catalog key of the task's status.
func (t replTask) StatusKey() string { return replStatusKey(t.Status) }

// Statuses are the status filter's choices: value and label key.
func (replExecutionsView) Statuses() [][2]string {
	return [][2]string{{"InProgress", "repl.st_inprogress"}, {"Succeed", "repl.st_succeed"},
		{"Failed", "repl.st_failed"}, {"Stopped", "repl.st_stopped"}}
}

// TriggerKey is the catalog key of what started the execution.
func (e replExecution) TriggerKey() string {
	return replPolicy{Trigger: &replTrigger{Type: e.Trigger}}.TriggerKey()
}
