package ui

import (
	"net/http"
	"time"
)

// retentionTask is what an execution did in one repository.
type retentionTask struct {
	ID         int64      `json:"id"`
	Repository string     `json:"repository"`
	Status     string     `json:"status"`
	StartTime  *time.Time `json:"start_time"`
	EndTime    *time.Time `json:"end_time"`
	Total      int        `json:"total"`
	Retained   int        `json:"retained"`
}

// Duration is how long the task took, "" while it runs.
func (t retentionTask) Duration() string { return duration(t.StartTime, t.EndTime) }

// StatusKey and StatusClass are the status's catalog key and badge.
func (t retentionTask) StatusKey() string   { return retentionStatusKey(t.Status) }
func (t retentionTask) StatusClass() string { return statusClass(t.Status) }

// executionView is one execution with a page of its tasks, or (Log set)
// one task's log.
type executionView struct {
	Project   *project
	Execution retentionExecution
	List      *listQuery
	Tasks     []retentionTask
	Task      *retentionTask
	Log       string
}

// runRetention starts an execution: dry_run=true decides and logs only.
func (u *UI) runRetention(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	dry := r.PostForm.Get("dry_run") == "true"
	_, err := s.api.send(http.MethodPost, "/retentions/"+itoa(p.ProjectID)+"/executions", map[string]bool{"dry_run": dry}, nil)
	flash := "ret.runstarted"
	if dry {
		flash = "ret.dryrunstarted"
	}
	u.redirect(w, r, policyPath(p.ProjectID, "retention"), flash, err)
}

// stopRetention stops an execution in progress.
func (u *UI) stopRetention(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	eid, ok := pathNumber(r, "eid")
	var err error = &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")}
	if ok {
		_, err = s.api.send(http.MethodPatch, "/retentions/"+itoa(p.ProjectID)+"/executions/"+itoa(eid),
			map[string]string{"action": "stop"}, nil)
	}
	u.redirect(w, r, policyPath(p.ProjectID, "retention"), "ret.stopped", err)
}

// execution reads the project and execution {eid} the path names; on
// failure it has answered.
func (u *UI) execution(w http.ResponseWriter, r *http.Request, s *session) (*project, *retentionExecution, bool) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return nil, nil, false
	}
	eid, ok := pathNumber(r, "eid")
	if !ok {
		u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
		return nil, nil, false
	}
	var e retentionExecution
	if _, err := s.api.get("/retentions/"+itoa(p.ProjectID)+"/executions/"+itoa(eid), &e); err != nil {
		u.failed(w, r, s, err)
		return nil, nil, false
	}
	return p, &e, true
}

// executionPage lists an execution's tasks, paged by the API.
func (u *UI) executionPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, e, ok := u.execution(w, r, s)
	if !ok {
		return
	}
	v := executionView{Project: p, Execution: *e, List: parseList(r)}
	a, err := s.api.get("/retentions/"+itoa(p.ProjectID)+"/executions/"+itoa(e.ID)+"/tasks?"+v.List.apiParams().Encode(), &v.Tasks)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	v.List.Total = a.total()
	u.render(w, r, 0, "policy_execution", projectView(s, p, "policy", "ret.execution", v))
}

// taskLogPage shows a task's log: each artifact and why it was kept or
// deleted.
func (u *UI) taskLogPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, e, ok := u.execution(w, r, s)
	if !ok {
		return
	}
	tid, ok := pathNumber(r, "tid")
	if !ok {
		u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "error.notfound")})
		return
	}
	path := "/retentions/" + itoa(p.ProjectID) + "/executions/" + itoa(e.ID) + "/tasks/" + itoa(tid)
	a, err := s.api.do(http.MethodGet, path, nil)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	v := executionView{Project: p, Execution: *e, Task: &retentionTask{ID: tid}, Log: a.body.String()}
	u.render(w, r, 0, "policy_tasklog", projectView(s, p, "policy", "ret.tasklog", v))
}
