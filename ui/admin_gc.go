package ui

import (
	"encoding/json"
	"net/http"
	"strings"
)

// gcRun is one garbage collection run as the API lists it; its
// job_parameters carry the run's parameters and, once it has ended,
// what it freed (or, dry, would free).
type gcRun struct {
	ID            int64  `json:"id"`
	JobKind       string `json:"job_kind"`
	JobParameters string `json:"job_parameters"`
	JobStatus     string `json:"job_status"`
	CreationTime  string `json:"creation_time"`
	UpdateTime    string `json:"update_time"`
	Schedule      *struct {
		Type string `json:"type"`
	} `json:"schedule"`
}

// gcParams are a run's parsed job_parameters.
type gcParams struct {
	DryRun           bool   `json:"dry_run"`
	DeleteUntagged   bool   `json:"delete_untagged"`
	BlobsDeleted     *int64 `json:"blobs_deleted"`
	ManifestsDeleted *int64 `json:"manifests_deleted"`
	BytesFreed       *int64 `json:"bytes_freed"`
	Error            string `json:"error"`
}

// Params parses the run's job_parameters (zero when unreadable).
func (g gcRun) Params() gcParams {
	var p gcParams
	_ = json.Unmarshal([]byte(g.JobParameters), &p)
	return p
}

// Running tells whether the run has not ended.
func (g gcRun) Running() bool { return g.JobStatus == "Pending" || g.JobStatus == "Running" }

// Triggered is the catalog key of how the run started.
func (g gcRun) Triggered() string {
	if g.Schedule != nil && g.Schedule.Type != "Manual" {
		return "gc.kind.schedule"
	}
	return "gc.kind.manual"
}

// StatusClass is the badge class of the run's status.
func (g gcRun) StatusClass() string { return gcStatusClass(g.JobStatus) }

func gcStatusClass(status string) string {
	switch strings.ToLower(status) {
	case "success":
		return "ok"
	case "error", "stopped":
		return "err"
	}
	return "warn"
}

// gcSchedule is GET /system/gc/schedule's answer.
type gcSchedule struct {
	Schedule      *adminSchedule `json:"schedule"`
	JobParameters string         `json:"job_parameters"`
}

type gcView struct {
	List     *listQuery
	Runs     []gcRun
	Schedule adminSchedule
	Params   gcParams // the schedule's
	Running  bool     // a listed run has not ended: the page refreshes
}

func (u *UI) gcPage(w http.ResponseWriter, r *http.Request, s *session) {
	l := parseList(r, "-creation_time", "creation_time", "job_status", "update_time")
	var v gcView
	a, err := s.api.get("/system/gc?"+l.apiParams().Encode(), &v.Runs)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total, v.List = a.total(), l
	var sc gcSchedule
	if _, err := s.api.get("/system/gc/schedule", &sc); err != nil {
		u.failed(w, r, s, err)
		return
	}
	if sc.Schedule != nil {
		v.Schedule = *sc.Schedule
	}
	if v.Schedule.Type == "" {
		v.Schedule.Type = "None"
	}
	_ = json.Unmarshal([]byte(sc.JobParameters), &v.Params)
	for _, run := range v.Runs {
		v.Running = v.Running || run.Running()
	}
	u.render(w, r, 0, "admin_gc", adminView(s, "gc", "gc.title", v))
}

// runGC starts a run now (dry_run from the button pressed) and shows it.
func (u *UI) runGC(w http.ResponseWriter, r *http.Request, s *session) {
	params := map[string]any{"delete_untagged": formChecked(r, "delete_untagged"), "dry_run": r.PostForm.Get("dry_run") == "true"}
	a, err := s.api.send(http.MethodPost, "/system/gc/schedule",
		map[string]any{"schedule": adminSchedule{Type: "Manual"}, "parameters": params}, nil)
	if err != nil {
		u.redirect(w, r, "/admin/gc", "", err)
		return
	}
	key := "gc.started"
	if params["dry_run"] == true {
		key = "gc.drystarted"
	}
	u.redirect(w, r, "/admin/gc/"+a.location(), key, nil)
}

func (u *UI) scheduleGC(w http.ResponseWriter, r *http.Request, s *session) {
	body := map[string]any{"schedule": adminScheduleFromForm(r),
		"parameters": map[string]any{"delete_untagged": formChecked(r, "delete_untagged")}}
	if _, err := s.api.send(http.MethodPut, "/system/gc/schedule", body, nil); err != nil {
		u.redirect(w, r, "/admin/gc", "", err)
		return
	}
	u.redirect(w, r, "/admin/gc", "gc.scheduled", nil)
}

type gcRunView struct {
	Run      gcRun
	Params   gcParams
	Log      string
	Progress gcProgress
}

// gcProgress is what a run's log says it has got through so far: the
// API reports a run's status, not its progress, but the run logs one
// line for each manifest and blob it deletes (or would).
type gcProgress struct {
	Manifests, Blobs int
	Last             string
}

func progressOf(log string) gcProgress {
	var p gcProgress
	for _, line := range strings.Split(strings.TrimSpace(log), "\n") {
		if line == "" {
			continue
		}
		p.Last = line
		switch {
		case strings.Contains(line, "untagged manifest "):
			p.Manifests++
		case strings.Contains(line, "blob sha"):
			p.Blobs++
		}
	}
	return p
}

func (u *UI) gcRunPage(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := u.pathID(w, r, s, "id")
	if !ok {
		return
	}
	var v gcRunView
	if _, err := s.api.get("/system/gc/"+id, &v.Run); err != nil {
		u.failed(w, r, s, err)
		return
	}
	v.Params = v.Run.Params()
	if a, err := s.api.do(http.MethodGet, "/system/gc/"+id+"/log", nil); err == nil {
		v.Log = a.body.String()
	}
	v.Progress = progressOf(v.Log)
	vw := adminView(s, "gc", "gc.run", v)
	vw.TitleArg = "#" + id
	u.render(w, r, 0, "admin_gc_run", vw)
}

func (u *UI) stopGC(w http.ResponseWriter, r *http.Request, s *session) {
	id, ok := u.pathID(w, r, s, "id")
	if !ok {
		return
	}
	if _, err := s.api.send(http.MethodPut, "/system/gc/"+id, nil, nil); err != nil {
		u.redirect(w, r, "/admin/gc/"+id, "", err)
		return
	}
	u.redirect(w, r, "/admin/gc/"+id, "gc.stopped", nil)
}

// Done tells whether the run reported what it freed.
func (p gcParams) Done() bool { return p.BytesFreed != nil }

// Manifests, Blobs and Bytes are what the run freed (or would).
func (p gcParams) Manifests() int64 { return derefInt(p.ManifestsDeleted) }
func (p gcParams) Blobs() int64     { return derefInt(p.BlobsDeleted) }
func (p gcParams) Bytes() int64     { return derefInt(p.BytesFreed) }

func derefInt(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}
