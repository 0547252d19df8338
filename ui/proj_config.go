package ui

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

// projSettings is the part of a project the configuration page edits,
// as GET /projects/{id} answers.
type projSettings struct {
	Metadata struct {
		Public               string `json:"public"`
		ContentTrust         string `json:"content_trust"`
		PreventVul           string `json:"prevent_vul"`
		Severity             string `json:"severity"`
		AutoScan             string `json:"auto_scan"`
		AutoSBOMGeneration   string `json:"auto_sbom_generation"`
		ReuseSysCVEAllowlist string `json:"reuse_sys_cve_allowlist"`
	} `json:"metadata"`
}

// cveAllowlist is the system's or a project's allowlist.
type cveAllowlist struct {
	ExpiresAt *int64 `json:"expires_at"`
	Items     []struct {
		CVEID string `json:"cve_id"`
	} `json:"items"`
}

// IDs is the list's CVE ids, one a line, for the textarea.
func (a cveAllowlist) IDs() string {
	ids := make([]string, 0, len(a.Items))
	for _, it := range a.Items {
		ids = append(ids, it.CVEID)
	}
	return strings.Join(ids, "\n")
}

// Expiry is the expiry as a date (UTC), "" for never.
func (a cveAllowlist) Expiry() string {
	if a.ExpiresAt == nil || *a.ExpiresAt <= 0 {
		return ""
	}
	return time.Unix(*a.ExpiresAt, 0).UTC().Format(time.DateOnly)
}

// trustModes are the content trust policies the form offers, as the
// metadata content_trust names them ("" is off); a "signers" policy is
// set through the trust API and only kept here.
var trustModes = [...]string{"", "enabled", "cosign", "notation"}

// preventThresholds are prevent_vul's thresholds, worst first, with their
// catalog keys.
var preventThresholds = [...][2]string{{"critical", "sev.critical"}, {"high", "sev.high"},
	{"medium", "sev.medium"}, {"low", "sev.low"}, {"negligible", "sev.negligible"}}

type projConfigView struct {
	Project    *project
	Settings   projSettings
	Own        cveAllowlist
	System     cveAllowlist
	TrustModes []string
	Severities [][2]string
}

// Is tells whether a metadata flag is on.
func (projConfigView) Is(flag string) bool { return flag == "true" }

func (u *UI) projConfigPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	id := itoa(p.ProjectID)
	v := projConfigView{Project: p, TrustModes: trustModes[:], Severities: preventThresholds[:]}
	for path, out := range map[string]any{"/projects/" + id: &v.Settings, "/projects/" + id + "/cve-allowlist": &v.Own,
		"/system/CVEAllowlist": &v.System} {
		if _, err := s.api.get(path, out); err != nil {
			u.failed(w, r, s, err)
			return
		}
	}
	u.render(w, r, 0, "proj_config", projectView(s, p, "config", "proj.config.title", v))
}

// projSaveConfig writes the form: the project's own allowlist first (when
// the project uses it, so a refused CVE id changes nothing else), then
// the settings in one update.
func (u *UI) projSaveConfig(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	id := itoa(p.ProjectID)
	back := "/projects/" + id + "/config"
	f := r.PostForm
	flag := func(name string) string {
		if f.Get(name) == "true" {
			return "true"
		}
		return "false"
	}
	reuse := f.Get("allowlist") != "project"
	if !reuse {
		al, err := allowlistForm(f.Get("cve_ids"), f.Get("expires"))
		if err != nil {
			u.redirect(w, r, back, "", errorText(u.cat.text(language(r), "proj.config.baddate")))
			return
		}
		if _, err := s.api.send(http.MethodPut, "/projects/"+id+"/cve-allowlist", al, nil); err != nil {
			u.redirect(w, r, back, "", err)
			return
		}
	}
	md := map[string]string{"public": flag("public"), "prevent_vul": flag("prevent_vul"), "auto_scan": flag("auto_scan"),
		"auto_sbom_generation": flag("auto_sbom"), "reuse_sys_cve_allowlist": strconv.FormatBool(reuse)}
	if ct, sent := f["content_trust"]; sent {
		md["content_trust"] = ct[0]
	}
	for _, sev := range preventThresholds {
		if f.Get("severity") == sev[0] {
			md["severity"] = sev[0]
		}
	}
	_, err := s.api.send(http.MethodPut, "/projects/"+id, map[string]any{"metadata": md}, nil)
	u.redirect(w, r, back, "proj.config.saved", err)
}

// allowlistForm builds the allowlist of the form's CVE ids (separated by
// spaces, commas or lines) and expiry date ("" for never).
func allowlistForm(ids, expires string) (map[string]any, error) {
	items := []map[string]string{}
	for _, id := range strings.FieldsFunc(ids, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' || r == '\r' || r == '\t' }) {
		items = append(items, map[string]string{"cve_id": id})
	}
	al := map[string]any{"items": items, "expires_at": nil}
	if expires = strings.TrimSpace(expires); expires != "" {
		t, err := time.Parse(time.DateOnly, expires)
		if err != nil {
			return nil, err
		}
		al["expires_at"] = t.Unix()
	}
	return al, nil
}
