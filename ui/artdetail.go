package ui

import (
	"net/http"
	"net/url"
	"strings"
	"time"
)

// artifactInfo is an artifact as the API answers GET of one, with every
// optional part asked for.
type artifactInfo struct {
	ID                int64             `json:"id"`
	Digest            string            `json:"digest"`
	Type              string            `json:"type"`
	MediaType         string            `json:"media_type"`
	ManifestMediaType string            `json:"manifest_media_type"`
	RepositoryName    string            `json:"repository_name"`
	Size              int64             `json:"size"`
	PushTime          time.Time         `json:"push_time"`
	PullTime          time.Time         `json:"pull_time"`
	Subject           string            `json:"subject"`
	Tags              []artifactTag     `json:"tags"`
	ExtraAttrs        map[string]any    `json:"extra_attrs"`
	Annotations       map[string]string `json:"annotations"`
	References        []struct {
		ChildDigest string `json:"child_digest"`
		Platform    *struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
			OSVersion    string `json:"os.version"`
		} `json:"platform"`
	} `json:"references"`
	AdditionLinks map[string]struct{ Href string } `json:"addition_links"`
	ScanOverview  map[string]*scanOverview         `json:"scan_overview"`
	SBOMOverview  *struct {
		ScanStatus string `json:"scan_status"`
	} `json:"sbom_overview"`
	Signatures *struct {
		Allowed bool   `json:"allowed"`
		Reason  string `json:"reason"`
		Signers []struct {
			Name    string `json:"name"`
			KeyID   string `json:"key_id"`
			Subject string `json:"subject"`
		} `json:"signers"`
	} `json:"signatures"`
	Labels []artifactLabel `json:"labels"`
}

type artifactTag struct {
	Name      string    `json:"name"`
	PushTime  time.Time `json:"push_time"`
	PullTime  time.Time `json:"pull_time"`
	Immutable bool      `json:"immutable"`
}

type artifactLabel struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Description string `json:"description"`
	Scope       string `json:"scope"`
}

// scanOverview is the summary of the latest scan.
type scanOverview struct {
	ScanStatus string `json:"scan_status"`
	Severity   string `json:"severity"`
	Summary    *struct {
		Total   int `json:"total"`
		Fixable int `json:"fixable"`
	} `json:"summary"`
	EndTime time.Time `json:"end_time"`
}

// Scan is the latest vulnerability scan's overview, or nil.
func (a *artifactInfo) Scan() *scanOverview {
	for _, o := range a.ScanOverview {
		return o
	}
	return nil
}

// Running tells whether a scan or SBOM generation is under way (the
// page then reloads itself).
func (a *artifactInfo) Running() bool {
	busy := func(s string) bool { return s == "Pending" || s == "Running" }
	if o := a.Scan(); o != nil && busy(o.ScanStatus) {
		return true
	}
	return a.SBOMOverview != nil && busy(a.SBOMOverview.ScanStatus)
}

// artifactViews are the sections of the page, by the view= parameter, and
// which kinds of artifact have each.
var artifactViews = [...]struct{ name, key string }{
	{"overview", "artd.overview"}, {"vulnerabilities", "artd.vulns"}, {"sbom", "artd.sbom"},
	{"history", "artd.history"}, {"chart", "artd.chart"}, {"accessories", "artd.accessories"},
}

// artView is one section's tab.
type artView struct{ Name, Key string }

// viewsOf are the sections an artifact has: history for an image with a
// config, the chart's files for a chart, scans and SBOMs for images.
func viewsOf(a *artifactInfo) []artView {
	var out []artView
	for _, v := range artifactViews {
		switch v.name {
		case "vulnerabilities", "sbom":
			if a.Type != "IMAGE" {
				continue
			}
		case "history":
			if _, ok := a.AdditionLinks["build_history"]; !ok {
				continue
			}
		case "chart":
			if a.Type != "CHART" {
				continue
			}
		}
		out = append(out, artView{v.name, v.key})
	}
	return out
}

// artDetailView is the artifact page's data; one section is filled.
type artDetailView struct {
	Project *project
	Art     *artifactInfo
	Repo    string // the full repository name
	View    string
	Views   []artView
	Query   string // repo= and digest= of this artifact, for links
	Pull    string // the pull command
	Section string // an error reading the section, shown in its place

	Labels      []artifactLabel // labels that may be added
	Vulns       *vulnView
	SBOM        *sbomView
	History     []historyEntry
	Chart       *chartView
	Accessories []*accessoryNode
}

// Link is this page's query with more parameters (pairs of name and
// value): "?repo=...&digest=...&view=...".
func (d *artDetailView) Link(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Set(kv[i], kv[i+1])
	}
	return "?" + d.Query + "&" + q.Encode()
}

// artifactPath is the API path of reference ref of repo (a full name,
// which must be in project p); "" when repo is not p's.
func artifactPath(p *project, repo, ref string) string {
	rel, ok := strings.CutPrefix(repo, p.Name+"/")
	if !ok || rel == "" || ref == "" || strings.ContainsAny(ref, "/?#") {
		return ""
	}
	return "/projects/" + esc(p.Name) + "/repositories/" + repoPath(rel) + "/artifacts/" + esc(ref)
}

// loadArtifact reads the artifact the request names (repo and digest, a
// tag accepted too, from the query or the form), with its optional parts.
// On failure it has answered.
func (u *UI) loadArtifact(w http.ResponseWriter, r *http.Request, s *session, p *project, repo, ref string) (*artifactInfo, string, bool) {
	path := artifactPath(p, repo, ref)
	if path == "" {
		u.failed(w, r, s, &apiError{Status: http.StatusNotFound, Message: u.cat.text(language(r), "artd.nosuch")})
		return nil, "", false
	}
	var a artifactInfo
	if _, err := s.api.get(path+"?with_tag=true&with_label=true&with_signature=true&with_scan_overview=true"+
		"&with_sbom_overview=true&with_immutable_status=true", &a); err != nil {
		u.failed(w, r, s, err)
		return nil, "", false
	}
	return &a, artifactPath(p, repo, a.Digest), true
}

// artifactPage shows an artifact: GET /projects/{id}/artifact?repo=&digest=&view=.
func (u *UI) artifactPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	q := r.URL.Query()
	repo := q.Get("repo")
	a, path, ok := u.loadArtifact(w, r, s, p, repo, q.Get("digest"))
	if !ok {
		return
	}
	d := &artDetailView{Project: p, Art: a, Repo: repo, Views: viewsOf(a), View: "overview",
		Query: url.Values{"repo": {repo}, "digest": {a.Digest}}.Encode(),
		Pull:  "docker pull " + r.Host + "/" + repo + "@" + a.Digest}
	if v, ok := a.ExtraAttrs["version"].(string); ok && a.Type == "CHART" {
		d.Pull = "helm pull oci://" + r.Host + "/" + repo + " --version " + v
	}
	for _, v := range d.Views {
		if v.Name == q.Get("view") {
			d.View = v.Name
		}
	}
	var err error
	switch d.View {
	case "overview":
		d.Labels = u.addableLabels(s, p, a)
	case "vulnerabilities":
		d.Vulns, err = loadVulns(s, p, path, q)
	case "sbom":
		d.SBOM, err = loadSBOM(s, path, q.Get("format"))
	case "history":
		d.History, err = loadHistory(s, path)
	case "chart":
		d.Chart, err = loadChart(s, path)
	case "accessories":
		d.Accessories, err = loadAccessories(s, p, repo, a.Digest)
	}
	if err != nil {
		if statusOf(err) == http.StatusUnauthorized {
			u.toLogin(w, r)
			return
		}
		d.Section = err.Error()
	}
	u.render(w, r, 0, "artdetail", projectView(s, p, "repositories", "artd.title", d))
}

// addableLabels are the global and project labels not on a yet (the
// first hundred of each: a longer list needs the labels page).
func (u *UI) addableLabels(s *session, p *project, a *artifactInfo) []artifactLabel {
	on := map[int64]bool{}
	for _, l := range a.Labels {
		on[l.ID] = true
	}
	var out []artifactLabel
	for _, q := range []string{"scope=g", "scope=p&project_id=" + itoa(p.ProjectID)} {
		var ls []artifactLabel
		if _, err := s.api.get("/labels?page_size=100&sort=name&"+q, &ls); err != nil {
			continue // labels not served, or not visible: nothing to offer
		}
		for _, l := range ls {
			if !on[l.ID] {
				out = append(out, l)
			}
		}
	}
	return out
}
