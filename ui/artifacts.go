package ui

import (
	"net/http"
	"net/url"
	"strings"
)

// artifact is an artifact as the API lists it with its tags, scan
// overview, trust verdict and labels.
type artifact struct {
	ID                int64                   `json:"id"`
	Digest            string                  `json:"digest"`
	Type              string                  `json:"type"`
	MediaType         string                  `json:"media_type"`
	ManifestMediaType string                  `json:"manifest_media_type"`
	ArtifactType      string                  `json:"artifact_type"`
	Size              int64                   `json:"size"`
	PushTime          string                  `json:"push_time"`
	PullTime          string                  `json:"pull_time"`
	Tags              []struct{ Name string } `json:"tags"`
	ScanOverview      map[string]*scanSummary `json:"scan_overview"`
	Signatures        *trustVerdict           `json:"signatures"`
	Labels            []labelRef              `json:"labels"`
	References        []struct {
		Platform *struct {
			OS           string `json:"os"`
			Architecture string `json:"architecture"`
			Variant      string `json:"variant"`
		} `json:"platform"`
	} `json:"references"`

	Detail string `json:"-"` // the portal path of its detail page
	Pull   string `json:"-"` // the command that pulls it
}

// labelRef is a label as artifacts and label listings carry it.
type labelRef struct {
	ID    int64  `json:"id"`
	Name  string `json:"name"`
	Scope string `json:"scope"`
}

// trustVerdict is the API's content trust verdict on an artifact.
type trustVerdict struct {
	Allowed bool   `json:"allowed"`
	Reason  string `json:"reason"`
	Signers []struct {
		Name    string `json:"name"`
		KeyID   string `json:"key_id"`
		Subject string `json:"subject"`
	} `json:"signers"`
	Signatures []struct {
		Verified bool `json:"verified"`
	} `json:"signatures"`
}

// SignerNames names the verified signers, for the signature column.
func (t *trustVerdict) SignerNames() string {
	var names []string
	for _, s := range t.Signers {
		switch {
		case s.Name != "":
			names = append(names, s.Name)
		case s.Subject != "":
			names = append(names, s.Subject)
		default:
			names = append(names, shortDigest(s.KeyID))
		}
	}
	return strings.Join(names, ", ")
}

// Kind is the catalog key of the artifact's type, told from its media
// types (and cosign's tag scheme, whose signatures are plain images
// tagged sha256-<hex>.sig).
func (a artifact) Kind() string {
	mt := a.ManifestMediaType
	switch {
	case strings.Contains(mt, "image.index") || strings.Contains(mt, "manifest.list"):
		return "art.kind.index"
	case a.Type == "CHART":
		return "art.kind.chart"
	case a.ArtifactType == "application/vnd.dev.cosign.artifact.sig.v1+json" ||
		a.ArtifactType == "application/vnd.dev.sigstore.bundle.v0.3+json" ||
		a.ArtifactType == "application/vnd.cncf.notary.signature" || a.hasTagSuffix(".sig"):
		return "art.kind.signature"
	case strings.Contains(a.ArtifactType, "sbom") || strings.Contains(a.ArtifactType, "spdx") ||
		strings.Contains(a.ArtifactType, "cyclonedx") || a.hasTagSuffix(".sbom"):
		return "art.kind.sbom"
	case a.Type == "IMAGE":
		return "art.kind.image"
	}
	return "art.kind.other"
}

func (a artifact) hasTagSuffix(suffix string) bool {
	for _, t := range a.Tags {
		if strings.HasPrefix(t.Name, "sha256-") && strings.HasSuffix(t.Name, suffix) {
			return true
		}
	}
	return false
}

// Platforms are an index's platforms, as os/architecture[/variant].
func (a artifact) Platforms() []string {
	var out []string
	for _, r := range a.References {
		if p := r.Platform; p != nil && p.OS != "" {
			s := p.OS + "/" + p.Architecture
			if p.Variant != "" {
				s += "/" + p.Variant
			}
			out = append(out, s)
		}
	}
	return out
}

// Scan is the artifact's latest vulnerability scan, or nil.
func (a artifact) Scan() *scanSummary {
	for _, s := range a.ScanOverview {
		if s != nil {
			return s
		}
	}
	return nil
}

// repoTag is one row of the view by tag.
type repoTag struct {
	Name     string `json:"name"`
	Digest   string `json:"digest"`
	Size     int64  `json:"size"`
	Type     string `json:"type"`
	PushTime string `json:"push_time"`
	PullTime string `json:"pull_time"`

	Detail string `json:"-"`
	Pull   string `json:"-"`
}

type artifactsView struct {
	Project   *project
	List      *listQuery
	Repo      string // the full name
	Rel       string // without the project's
	ByTag     bool
	Artifacts []artifact
	Tags      []repoTag
	Labels    []labelRef // the labels the user may add
	PullBase  string     // <registry host>/<repository>
}

// artifactsPage lists a repository's artifacts, or (view=tags) its tags,
// filtered, sorted and paged by the API.
func (u *UI) artifactsPage(w http.ResponseWriter, r *http.Request, s *session) {
	p, ok := u.projectOf(w, r, s)
	if !ok {
		return
	}
	rel := strings.Trim(r.PathValue("repo"), "/")
	if rel == "" {
		http.Redirect(w, r, u.base+"/projects/"+itoa(p.ProjectID)+"/repositories", http.StatusSeeOther)
		return
	}
	v := artifactsView{Project: p, Repo: p.Name + "/" + rel, Rel: rel, ByTag: r.URL.Query().Get("view") == "tags"}
	api := "/projects/" + esc(p.Name) + "/repositories/" + repoPath(rel)
	var err error
	if v.ByTag {
		v.List = parseList(r, "name", "push_time", "pull_time")
		q := v.List.apiParams()
		if v.List.Search != "" {
			q.Set("q", "name=~"+v.List.Search)
		}
		var a *answer
		if a, err = s.api.get(api+"/tags?"+q.Encode(), &v.Tags); err == nil {
			v.List.Total = a.total()
		}
	} else {
		v.List = parseList(r, "push_time", "pull_time", "size")
		if r.URL.Query().Get("sort") == "" {
			v.List.Sort = "-push_time" // newest first, as Harbor shows them
		}
		q := v.List.apiParams()
		if v.List.Search != "" {
			q.Set("q", "tags=~"+v.List.Search)
		}
		for _, x := range []string{"with_tag", "with_scan_overview", "with_signature", "with_label"} {
			q.Set(x, "true")
		}
		var a *answer
		if a, err = s.api.get(api+"/artifacts?"+q.Encode(), &v.Artifacts); err == nil {
			v.List.Total = a.total()
		}
	}
	if err != nil {
		u.failed(w, r, s, err)
		return
	}
	v.PullBase = u.registryHost(r, s) + "/" + v.Repo
	detail := "/projects/" + itoa(p.ProjectID) + "/artifact?repo=" + url.QueryEscape(v.Repo) + "&digest="
	for i := range v.Artifacts {
		a := &v.Artifacts[i]
		a.Detail, a.Pull = detail+url.QueryEscape(a.Digest), "docker pull "+v.PullBase+"@"+a.Digest
	}
	for i := range v.Tags {
		t := &v.Tags[i]
		t.Detail, t.Pull = detail+url.QueryEscape(t.Digest), "docker pull "+v.PullBase+":"+t.Name
	}
	v.Labels = u.attachableLabels(s, p)
	u.render(w, r, 0, "artifacts", projectView(s, p, "repositories", "art.title", v))
}

// registryHost is the host clients pull from: the API's registry_url,
// else the host the browser asked.
func (u *UI) registryHost(r *http.Request, s *session) string {
	var info struct {
		RegistryURL string `json:"registry_url"`
	}
	if _, err := s.api.get("/systeminfo", &info); err == nil && info.RegistryURL != "" {
		h := strings.TrimPrefix(strings.TrimPrefix(info.RegistryURL, "https://"), "http://")
		return strings.TrimRight(h, "/")
	}
	return r.Host
}

// attachableLabels are the global labels and the project's (none when
// labels are not served or the user may not list them).
func (u *UI) attachableLabels(s *session, p *project) []labelRef {
	var global, own []labelRef
	_, _ = s.api.get("/labels?scope=g&page_size=100", &global)
	_, _ = s.api.get("/labels?scope=p&project_id="+itoa(p.ProjectID)+"&page_size=100", &own)
	return append(global, own...)
}

// Running tells whether a scan on the page is still going (the page then
// reloads itself).
func (v artifactsView) Running() bool {
	for _, a := range v.Artifacts {
		if s := a.Scan(); s != nil && s.State() == "art.scan.running" {
			return true
		}
	}
	return false
}

// vulnCell and pullCell are the dots of the "vulns" and "pullcmd"
// templates: the page's view (for T) and the cell's data.
type vulnCell struct {
	V    *view
	Scan *scanSummary
}

type pullCell struct {
	V   *view
	N   int
	Cmd string
}

// VulnCell and PullCell build them (templates have no dict).
func (artifactsView) VulnCell(v *view, s *scanSummary) vulnCell { return vulnCell{V: v, Scan: s} }
func (v artifactsView) PullCell(page *view, n int, cmd string) pullCell {
	return pullCell{V: page, N: n, Cmd: cmd}
}
