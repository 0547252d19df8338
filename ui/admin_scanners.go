package ui

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"
)

// scanner is a registered scanner as /scanners lists it.
type scanner struct {
	UUID        string `json:"uuid"`
	Name        string `json:"name"`
	Description string `json:"description"`
	URL         string `json:"url"`
	Auth        string `json:"auth"`
	Disabled    bool   `json:"disabled"`
	IsDefault   bool   `json:"is_default"`
	SkipCert    bool   `json:"skip_certVerify"`
	UseInternal bool   `json:"use_internal_addr"`
	Builtin     bool   `json:"builtin"`
	Healthy     bool   `json:"-"` // its metadata answered
	Version     string `json:"-"` // the scanner's, from its metadata
}

// scanAllMetrics is the latest scan-all, /scans/all/metrics.
type scanAllMetrics struct {
	Total     int64            `json:"total"`
	Completed int64            `json:"completed"`
	Metrics   map[string]int64 `json:"metrics"`
	Ongoing   bool             `json:"ongoing"`
	Trigger   string           `json:"trigger"`
}

// allowlist is the system CVE allowlist.
type allowlist struct {
	ExpiresAt *int64 `json:"expires_at"`
	Items     []struct {
		CVEID string `json:"cve_id"`
	} `json:"items"`
}

// IDs is the allowlist's CVE ids, one a line.
func (a allowlist) IDs() string {
	ids := make([]string, 0, len(a.Items))
	for _, it := range a.Items {
		ids = append(ids, it.CVEID)
	}
	return strings.Join(ids, "\n")
}

// Expiry is the expiry date (2006-01-02), or "" for never.
func (a allowlist) Expiry() string {
	if a.ExpiresAt == nil || *a.ExpiresAt <= 0 {
		return ""
	}
	return time.Unix(*a.ExpiresAt, 0).UTC().Format(time.DateOnly)
}

type scannersView struct {
	List      *listQuery
	Scanners  []scanner
	Metrics   scanAllMetrics
	Schedule  adminSchedule
	Allowlist allowlist
}

func (u *UI) scannersPage(w http.ResponseWriter, r *http.Request, s *session) {
	l := parseList(r, "name", "create_time", "url")
	p := l.apiParams()
	if l.Search != "" && !strings.ContainsAny(l.Search, ",={}()") {
		p.Set("q", "name=~"+l.Search)
	}
	var v scannersView
	a, err := s.api.get("/scanners?"+p.Encode(), &v.Scanners)
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	l.Total, v.List = a.total(), l
	u.checkHealth(r, s, v.Scanners)
	var sched struct {
		Schedule *adminSchedule `json:"schedule"`
	}
	for _, call := range []struct {
		path string
		out  any
	}{{"/scans/all/metrics", &v.Metrics}, {"/system/scanAll/schedule", &sched}, {"/system/CVEAllowlist", &v.Allowlist}} {
		if _, err := s.api.get(call.path, call.out); err != nil {
			u.failed(w, r, s, err)
			return
		}
	}
	if sched.Schedule != nil {
		v.Schedule = *sched.Schedule
	}
	if v.Schedule.Type == "" {
		v.Schedule.Type = "None"
	}
	u.render(w, r, 0, "admin_scanners", adminView(s, "scanners", "scanners.title", v))
}

// checkHealth asks each listed scanner for its metadata, all at once and
// for a few seconds at most: one that does not answer is unhealthy.
func (u *UI) checkHealth(r *http.Request, s *session, list []scanner) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	c := &client{api: s.api.api, from: r.WithContext(ctx), csrf: s.api.csrf}
	var wg sync.WaitGroup
	for i := range list {
		wg.Add(1)
		go func(sc *scanner) {
			defer wg.Done()
			var md struct {
				Scanner struct {
					Version string `json:"version"`
				} `json:"scanner"`
			}
			if _, err := c.get("/scanners/"+esc(sc.UUID)+"/metadata", &md); err == nil {
				sc.Healthy, sc.Version = true, md.Scanner.Version
			}
		}(&list[i])
	}
	wg.Wait()
}

func (u *UI) createScanner(w http.ResponseWriter, r *http.Request, s *session) {
	f := r.PostForm
	req := map[string]any{"name": strings.TrimSpace(f.Get("name")), "description": strings.TrimSpace(f.Get("description")),
		"url": strings.TrimSpace(f.Get("url")), "auth": f.Get("auth"), "access_credential": f.Get("credential"),
		"skip_certVerify": formChecked(r, "skip_cert"), "use_internal_addr": formChecked(r, "use_internal")}
	if _, err := s.api.send(http.MethodPost, "/scanners", req, nil); err != nil {
		u.redirect(w, r, "/admin/scanners", "", err)
		return
	}
	u.redirect(w, r, "/admin/scanners", "scanners.added", nil)
}

// scannerAction makes a scanner the default, enables or disables it, or
// deletes it, as the form's action says.
func (u *UI) scannerAction(w http.ResponseWriter, r *http.Request, s *session) {
	id := r.PathValue("uuid")
	path := "/scanners/" + esc(id)
	var err error
	key := ""
	switch r.PostForm.Get("action") {
	case "default":
		_, err = s.api.send(http.MethodPatch, path, map[string]bool{"is_default": true}, nil)
		key = "scanners.defaultset"
	case "enable", "disable":
		var sc scanner
		if _, err = s.api.get(path, &sc); err == nil {
			_, err = s.api.send(http.MethodPut, path, map[string]any{"name": sc.Name, "description": sc.Description,
				"url": sc.URL, "auth": sc.Auth, "skip_certVerify": sc.SkipCert, "use_internal_addr": sc.UseInternal,
				"disabled": r.PostForm.Get("action") == "disable"}, nil)
		}
		key = "scanners.updated"
	case "delete":
		_, err = s.api.send(http.MethodDelete, path, nil, nil)
		key = "scanners.deleted"
	default:
		err = errorText("unknown action")
	}
	u.redirect(w, r, "/admin/scanners", key, err)
}

// scanAll starts or stops a scan of every artifact.
func (u *UI) scanAll(w http.ResponseWriter, r *http.Request, s *session) {
	path, key := "/system/scanAll/now", "scanners.scanstarted"
	if r.PostForm.Get("action") == "stop" {
		path, key = "/system/scanAll/stop", "scanners.scanstopped"
	}
	if _, err := s.api.send(http.MethodPost, path, nil, nil); err != nil {
		u.redirect(w, r, "/admin/scanners", "", err)
		return
	}
	u.redirect(w, r, "/admin/scanners", key, nil)
}

func (u *UI) scheduleScanAll(w http.ResponseWriter, r *http.Request, s *session) {
	body := map[string]any{"schedule": adminScheduleFromForm(r)}
	if _, err := s.api.send(http.MethodPut, "/system/scanAll/schedule", body, nil); err != nil {
		u.redirect(w, r, "/admin/scanners", "", err)
		return
	}
	u.redirect(w, r, "/admin/scanners", "scanners.scheduled", nil)
}

// saveAllowlist replaces the system CVE allowlist: ids separated by
// commas, spaces or lines, and an expiry date (none: never).
func (u *UI) saveAllowlist(w http.ResponseWriter, r *http.Request, s *session) {
	items := []map[string]string{}
	seen := map[string]bool{}
	for _, id := range strings.FieldsFunc(r.PostForm.Get("ids"), func(c rune) bool { return c == ',' || c == ' ' || c == '\n' || c == '\r' || c == '\t' }) {
		if id = strings.ToUpper(id); !seen[id] {
			seen[id] = true
			items = append(items, map[string]string{"cve_id": id})
		}
	}
	body := map[string]any{"items": items, "expires_at": nil}
	if exp := strings.TrimSpace(r.PostForm.Get("expires")); exp != "" && !formChecked(r, "never") {
		t, err := time.Parse(time.DateOnly, exp)
		if err != nil {
			u.redirect(w, r, "/admin/scanners", "", errorText(u.cat.text(language(r), "scanners.baddate")))
			return
		}
		body["expires_at"] = t.Unix()
	}
	if _, err := s.api.send(http.MethodPut, "/system/CVEAllowlist", body, nil); err != nil {
		u.redirect(w, r, "/admin/scanners", "", err)
		return
	}
	u.redirect(w, r, "/admin/scanners", "scanners.allowlistsaved", nil)
}
