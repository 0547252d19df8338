package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/opencontainers/go-digest"
	v1 "github.com/opencontainers/image-spec/specs-go/v1"
	"helm.sh/helm/v3/pkg/chart/loader"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// AdditionLink is where an addition of an artifact is read.
type AdditionLink struct {
	Href     string `json:"href"`
	Absolute bool   `json:"absolute" doc:"false: href is a path on this server"`
}

// AdditionLinks are an artifact's additions, by name.
type AdditionLinks map[string]AdditionLink

// Additions, as Harbor names them.
const (
	additionBuildHistory    = "build_history"
	additionVulnerabilities = "vulnerabilities"
	additionValues          = "values.yaml"
	additionReadme          = "readme.md"
	additionDependencies    = "dependencies"
)

// Bounds of what an addition reads.
const (
	maxImageConfig = 4 << 20 // an image's config, for its history
	maxChartLayer  = 8 << 20 // a chart's archive
)

// Media types of a Helm chart's layer (the OCI one, and the one Helm 3.0
// pushed).
const (
	chartLayerType       = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
	chartLayerTypeLegacy = "application/tar+gzip"
)

// additionLinks are the additions of an artifact of kind (Artifact.Type).
func additionLinks(p project.Project, a registry.Artifact, kind string) AdditionLinks {
	var names []string
	switch kind {
	case "IMAGE":
		names = []string{additionBuildHistory, additionVulnerabilities}
		if isIndex(a.MediaType) { // no config, no history of its own
			names = names[1:]
		}
	case "CHART":
		names = []string{additionValues, additionReadme, additionDependencies}
	default:
		return nil
	}
	rel := strings.TrimPrefix(a.Repository, p.Name+"/")
	base := BasePath + "/projects/" + url.PathEscape(p.Name) + "/repositories/" + url.PathEscape(url.PathEscape(rel)) +
		"/artifacts/" + a.Digest.String() + "/additions/"
	out := AdditionLinks{}
	for _, n := range names {
		out[n] = AdditionLink{Href: base + n}
	}
	return out
}

// getAddition serves one addition of an artifact: an image's build
// history (its config's history), a chart's values.yaml, README and
// dependencies, or the vulnerability report (read from the scanning
// endpoints).
func (a *API) getAddition(c *call) error {
	name := c.r.PathValue("addition")
	switch name {
	case additionBuildHistory, additionValues, additionReadme, additionDependencies:
	case additionVulnerabilities:
		if a.cfg.scan.svc == nil {
			return notFound("vulnerability scanning is not enabled on this server")
		}
		return a.vulnerabilities(c)
	default:
		return badRequest("addition " + quoteShort(name) + ": want build_history, vulnerabilities, values.yaml, readme.md or dependencies")
	}
	_, art, err := a.artifact(c, permOn(rbac.ResourceArtifact, rbac.ActionRead))
	if err != nil {
		return err
	}
	kind := artifactKind(*art)
	if name == additionBuildHistory {
		if kind != "IMAGE" || isIndex(art.MediaType) {
			return notFound("artifact " + art.Digest.String() + " is not an image with a config: it has no build_history")
		}
		return a.buildHistory(c, art)
	}
	if kind != "CHART" {
		return notFound("artifact " + art.Digest.String() + " is not a Helm chart: it has no " + name)
	}
	return a.chartAddition(c, art, name)
}

func (a *API) buildHistory(c *call, art *registry.Artifact) error {
	b, err := a.deps.Registry.ReadConfig(c.ctx(), art.Repository, art.Digest, maxImageConfig)
	if err != nil {
		return err
	}
	var cfg struct {
		History []json.RawMessage `json:"history"`
	}
	if err := json.Unmarshal(b, &cfg); err != nil {
		return notFound("the config of " + art.Digest.String() + " is not an image config: " + err.Error())
	}
	if cfg.History == nil {
		cfg.History = []json.RawMessage{}
	}
	return c.json(http.StatusOK, cfg.History)
}

// chartAddition reads a chart's archive (its chart layer) and answers the
// addition name of it.
func (a *API) chartAddition(c *call, art *registry.Artifact, name string) error {
	body, _, err := a.deps.Registry.ReadManifest(c.ctx(), art.Repository, art.Digest.String())
	if err != nil {
		return err
	}
	var m v1.Manifest
	if err := json.Unmarshal(body, &m); err != nil {
		return err
	}
	var layer digest.Digest
	for _, l := range m.Layers {
		if l.MediaType == chartLayerType || l.MediaType == chartLayerTypeLegacy {
			layer = l.Digest
			break
		}
	}
	if layer == "" {
		return notFound("chart " + art.Digest.String() + " has no chart layer")
	}
	archive, err := a.deps.Registry.ReadBlob(c.ctx(), art.Repository, layer, maxChartLayer)
	if errors.Is(err, registry.ErrTooLarge) {
		return &apiError{Status: http.StatusPreconditionFailed, Code: codePrecondition,
			Message: "the chart's archive is larger than " + strconv.Itoa(maxChartLayer>>20) + " MiB; its additions are not read"}
	}
	if err != nil {
		return err
	}
	ch, err := loader.LoadArchive(bytes.NewReader(archive))
	if err != nil {
		return &apiError{Status: http.StatusPreconditionFailed, Code: codePrecondition, Message: "the chart's archive does not load: " + err.Error()}
	}
	switch name {
	case additionDependencies:
		deps := []map[string]string{}
		if ch.Metadata != nil {
			for _, d := range ch.Metadata.Dependencies {
				deps = append(deps, map[string]string{"name": d.Name, "version": d.Version, "repository": d.Repository})
			}
		}
		return c.json(http.StatusOK, deps)
	case additionValues:
		for _, f := range ch.Raw {
			if f.Name == "values.yaml" {
				return c.raw("text/plain; charset=utf-8", f.Data)
			}
		}
		return c.raw("text/plain; charset=utf-8", nil)
	}
	for _, f := range ch.Files {
		if strings.EqualFold(f.Name, "README.md") {
			// text/plain, not text/markdown: Harbor's SDK has no
			// consumer for the latter.
			return c.raw("text/plain; charset=utf-8", f.Data)
		}
	}
	return notFound("chart " + art.Digest.String() + " has no README.md")
}

// isIndex reports whether a manifest media type is an index (OCI) or a
// manifest list (Docker).
func isIndex(mediaType string) bool {
	return mediaType == v1.MediaTypeImageIndex || mediaType == registry.MediaTypeDockerList
}
