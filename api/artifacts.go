package api

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/opencontainers/go-digest"

	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// Artifact is a manifest in a repository, as Harbor shows it.
type Artifact struct {
	ID                int64          `json:"id" doc:"The artifact's id: of the manifest in this repository, stable, never reused"`
	RepositoryID      int64          `json:"repository_id"`
	Digest            string         `json:"digest"`
	Type              string         `json:"type" doc:"IMAGE, CHART or UNKNOWN"`
	MediaType         string         `json:"media_type" doc:"The artifact's type (OCI artifactType, or its config media type, for Docker images too), else the manifest's media type (an index)"`
	ManifestMediaType string         `json:"manifest_media_type"`
	ArtifactType      string         `json:"artifact_type,omitempty" doc:"berth: the OCI artifactType"`
	ProjectID         int64          `json:"project_id"`
	RepositoryName    string         `json:"repository_name"`
	Size              int64          `json:"size"`
	PushTime          time.Time      `json:"push_time"`
	PullTime          time.Time      `json:"pull_time" doc:"the last pull (0001-01-01T00:00:00Z: never); written every few seconds"`
	Tags              []Tag          `json:"tags"`
	Subject           string         `json:"subject,omitempty" doc:"berth: the digest of the artifact this one refers to (a signature, an SBOM, ...)"`
	ExtraAttrs        map[string]any `json:"extra_attrs,omitempty" doc:"for Helm charts: name, version, appVersion, description, icon and the rest of Chart.yaml"`
	Icon              string         `json:"icon,omitempty" doc:"the digest of the artifact type's icon: GET /icons/{digest}"`
	AdditionLinks     AdditionLinks  `json:"addition_links,omitempty" doc:"the additions of the artifact's type, by name: GET their href"`
	// Optional parts, each asked for with a query flag because each costs
	// a lookup per artifact.
	ScanOverview map[string]*NativeReportSummary `json:"scan_overview,omitempty" doc:"with with_scan_overview=true: the latest vulnerability report's summary, by report media type; absent when never scanned"`
	SBOMOverview *SBOMOverview                   `json:"sbom_overview,omitempty" doc:"with with_sbom_overview=true: the latest SBOM generation"`
	Signatures   *TrustVerification              `json:"signatures,omitempty" doc:"with with_signature=true: the content trust verdict and the verified signers"`
	Labels       []Label                         `json:"labels,omitempty" doc:"with with_label=true: the labels attached to the artifact"`
	// Parts of the manifest, in the answer of one artifact only.
	Annotations map[string]string   `json:"annotations,omitempty" doc:"GET of one artifact: the manifest's annotations"`
	References  []ArtifactReference `json:"references,omitempty" doc:"of an index: the manifests it lists, with their platforms (child_id only in the answer of one artifact)"`
}

// Tag is a tag of an artifact.
type Tag struct {
	ID           int64     `json:"id" doc:"stable while the tag exists, also when it moves to another artifact; never reused"`
	RepositoryID int64     `json:"repository_id"`
	ArtifactID   int64     `json:"artifact_id"`
	Name         string    `json:"name"`
	PushTime     time.Time `json:"push_time"`
	PullTime     time.Time `json:"pull_time"`
	Immutable    bool      `json:"immutable" doc:"with with_immutable_status=true: an immutability rule of the project holds the tag"`
	Signed       bool      `json:"signed"`
}

// artifactKind guesses Harbor's artifact type.
func artifactKind(a registry.Artifact) string {
	switch {
	case strings.HasPrefix(a.ArtifactType, "application/vnd.cncf.helm."):
		return "CHART"
	case a.ArtifactType == "", a.ArtifactType == "application/vnd.oci.image.config.v1+json",
		a.ArtifactType == "application/vnd.docker.container.image.v1+json":
		if strings.Contains(a.MediaType, "manifest") || strings.Contains(a.MediaType, "image.index") {
			return "IMAGE"
		}
	}
	return "UNKNOWN"
}

func artifactJSON(p project.Project, a registry.Artifact, withTags bool) Artifact {
	mt := a.MediaType
	if a.ArtifactType != "" {
		mt = a.ArtifactType
	}
	out := Artifact{ID: a.ID, RepositoryID: a.RepositoryID, Digest: a.Digest.String(), Type: artifactKind(a), MediaType: mt, ManifestMediaType: a.MediaType,
		ArtifactType: a.ArtifactType, ProjectID: p.ID, RepositoryName: a.Repository, Size: a.TotalSize,
		PushTime: a.PushedAt.UTC(), PullTime: a.PulledAt.UTC(), Tags: []Tag{}, Subject: a.Subject.String()}
	if withTags {
		for _, t := range a.TagTimes {
			out.Tags = append(out.Tags, tagJSON(a, t))
		}
	}
	out.Icon = iconOf(out.Type)
	out.AdditionLinks = additionLinks(p, a, out.Type)
	return out
}

func tagJSON(a registry.Artifact, t registry.TagTime) Tag {
	return Tag{ID: t.ID, RepositoryID: a.RepositoryID, ArtifactID: a.ID, Name: t.Name,
		PushTime: t.PushedAt.UTC(), PullTime: t.PulledAt.UTC()}
}

func withTags(c *call) (bool, error) { return boolQuery(c, "with_tag", true) }

func boolQuery(c *call, name string, def bool) (bool, error) {
	v := c.r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, badRequest(name + " " + strconv.Quote(v) + `: want "true" or "false"`)
	}
	return b, nil
}

// artifactExtras are the optional parts of an artifact's JSON a caller
// asked for.
type artifactExtras struct{ scan, sbom, signature, labels, immutable bool }

func parseExtras(c *call) (artifactExtras, error) {
	var x artifactExtras
	var err error
	if x.scan, err = boolQuery(c, "with_scan_overview", false); err != nil {
		return x, err
	}
	if x.sbom, err = boolQuery(c, "with_sbom_overview", false); err != nil {
		return x, err
	}
	if x.signature, err = boolQuery(c, "with_signature", false); err != nil {
		return x, err
	}
	if x.labels, err = boolQuery(c, "with_label", false); err != nil {
		return x, err
	}
	x.immutable, err = boolQuery(c, "with_immutable_status", false)
	return x, err
}

// immutableRules is the optional part of Immutable that says which rules
// hold in a project (*immutable.Store has it).
type immutableRules interface {
	Rules(ctx context.Context, projectID int64) ([]immutable.Rule, error)
}

// withExtras fills the optional parts x asks for, when the component
// behind each is wired.
func (a *API) withExtras(c *call, p project.Project, x artifactExtras, art registry.Artifact, out Artifact) (Artifact, error) {
	if x.labels {
		ls, err := a.artifactLabels(c.ctx(), p, art)
		if err != nil {
			return out, err
		}
		out.Labels = ls
	}
	if ir, ok := a.cfg.immutable.(immutableRules); ok && x.immutable && len(out.Tags) > 0 {
		rules, err := ir.Rules(c.ctx(), p.ID)
		if err != nil {
			return out, err
		}
		for i := range out.Tags {
			out.Tags[i].Immutable, _ = immutable.Check(rules, art.Repository, out.Tags[i].Name)
		}
	}
	if x.scan {
		if o := a.artifactOverview(c.ctx(), art); o != nil {
			out.ScanOverview = map[string]*NativeReportSummary{reportMIME11: o}
		}
	}
	if x.sbom {
		out.SBOMOverview = a.sbomOverview(c.ctx(), art.Repository, art.Digest)
	}
	if x.signature && a.cfg.trust.checker != nil {
		v, err := a.trustVerification(c.ctx(), art)
		if err != nil {
			return out, err
		}
		out.Signatures = v
		signed := len(v.Signers) > 0
		for i := range out.Tags {
			out.Tags[i].Signed = signed
		}
	}
	return out, nil
}

func (a *API) listArtifacts(c *call) error {
	p, repo, err := c.repository(permOn(rbac.ResourceArtifact, rbac.ActionList))
	if err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	tags, err := withTags(c)
	if err != nil {
		return err
	}
	l, err := parseArtifactListing(c)
	if err != nil {
		return err
	}
	l.q.Repo = repo
	arts, total, err := a.listArtifactsPage(c, p, l, pg)
	if err != nil {
		return err
	}
	extras, err := parseExtras(c)
	if err != nil {
		return err
	}
	out, err := a.artifactsJSON(c, p, extras, tags, arts)
	if err != nil {
		return err
	}
	return c.paged(pg, total, out)
}

// artifactsJSON renders a page of p's artifacts with the extras asked for.
func (a *API) artifactsJSON(c *call, p project.Project, extras artifactExtras, tags bool, arts []registry.Artifact) ([]Artifact, error) {
	out := make([]Artifact, 0, len(arts))
	for _, art := range arts {
		j, err := a.withExtras(c, p, extras, art, a.withReferences(c, art, a.withChartAttrs(c, artifactJSON(p, art, tags))))
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, nil
}

// artifact finds the request's {reference} after checking perm.
func (a *API) artifact(c *call, perm rbac.Permission) (project.Project, *registry.Artifact, error) {
	p, repo, err := c.repository(perm)
	if err != nil {
		return p, nil, err
	}
	art, err := a.deps.Registry.GetArtifact(c.ctx(), repo, c.r.PathValue("reference"))
	return p, art, err
}

func (a *API) getArtifact(c *call) error {
	tags, err := withTags(c)
	if err != nil {
		return err
	}
	extras, err := parseExtras(c)
	if err != nil {
		return err
	}
	p, art, err := a.artifact(c, permOn(rbac.ResourceArtifact, rbac.ActionRead))
	if err != nil {
		return err
	}
	j, err := a.withExtras(c, p, extras, *art, a.withReferences(c, *art, a.withChartAttrs(c, artifactJSON(p, *art, tags))))
	if err != nil {
		return err
	}
	if j, err = a.withManifestParts(c, *art, j); err != nil {
		return err
	}
	return c.json(http.StatusOK, j)
}

func (a *API) deleteArtifact(c *call) error {
	_, art, err := a.artifact(c, permOn(rbac.ResourceArtifact, rbac.ActionDelete))
	if err != nil {
		return err
	}
	return a.okOr(c, a.deps.Registry.DeleteArtifact(c.ctx(), art.Repository, art.Digest))
}

func (a *API) listTags(c *call) error {
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	_, art, err := a.artifact(c, permOn(rbac.ResourceTag, rbac.ActionList))
	if err != nil {
		return err
	}
	terms, err := parseQKeys(c.r.URL.Query().Get("q"), qSets("name"))
	if err != nil {
		return err
	}
	tts := art.TagTimes
	if t, ok := terms["name"]; ok {
		tts = slices.DeleteFunc(slices.Clone(tts), func(tt registry.TagTime) bool { return !t.matches(tt.Name) })
	}
	tts, total, err := listPage(c, pg, "name", tagSorts(), sliceLister(tts))
	if err != nil {
		return err
	}
	out := make([]Tag, 0, len(tts))
	for _, t := range tts {
		out = append(out, tagJSON(*art, t))
	}
	return c.paged(pg, total, out)
}

// tagSorts are the fields tags sort by (by name unless asked otherwise).
func tagSorts() map[string]sortField[registry.TagTime] {
	return map[string]sortField[registry.TagTime]{
		"name":      func(t *registry.TagTime) string { return t.Name },
		"push_time": func(t *registry.TagTime) string { return sTime(t.PushedAt) },
		"pull_time": func(t *registry.TagTime) string { return sTime(t.PulledAt) },
		"id":        func(t *registry.TagTime) string { return sInt(t.ID) },
	}
}

func (a *API) deleteTag(c *call) error {
	_, art, err := a.artifact(c, permOn(rbac.ResourceTag, rbac.ActionDelete))
	if err != nil {
		return err
	}
	tag := c.r.PathValue("tag_name")
	if !slices.Contains(art.Tags, tag) {
		return notFound("tag " + strconv.Quote(tag) + " is not a tag of " + art.Repository + "@" + art.Digest.String())
	}
	return a.okOr(c, a.deps.Registry.DeleteTag(c.ctx(), art.Repository, tag))
}

// maxChartConfig bounds the Chart.yaml-as-JSON config read for extra_attrs.
const maxChartConfig = 1 << 20

// withChartAttrs adds a Helm chart's metadata (its config blob, Chart.yaml
// as JSON), as Harbor shows it in extra_attrs. An unreadable config leaves
// the artifact as it is: the listing must not fail for one odd chart.
func (a *API) withChartAttrs(c *call, art Artifact) Artifact {
	if art.Type != "CHART" {
		return art
	}
	d, err := digest.Parse(art.Digest)
	if err != nil {
		return art
	}
	b, err := a.deps.Registry.ReadConfig(c.ctx(), art.RepositoryName, d, maxChartConfig)
	if err != nil {
		a.cfg.log.DebugContext(c.ctx(), "chart config", "artifact", art.RepositoryName+"@"+art.Digest, "err", err)
		return art
	}
	var attrs map[string]any
	if json.Unmarshal(b, &attrs) == nil {
		art.ExtraAttrs = attrs
	}
	return art
}
