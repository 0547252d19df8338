package api

import (
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
)

// Harbor's project metadata operations (/projects/{p}/metadatas/): the
// settings of ProjectMetadata as a map of strings, read and written with
// the same rules as updateProject.

// metadataKeys are the names the metadata operations know, in the order
// of ProjectMetadata.
var metadataKeys = []string{"public", "enable_content_trust", "enable_content_trust_cosign", "content_trust", "prevent_vul",
	"severity", "auto_scan", "reuse_sys_cve_allowlist", "auto_sbom_generation", "proxy_speed_kb", "retention_id"}

// metadataField is the field of md named key, or nil for an unknown name.
func metadataField(md *ProjectMetadata, key string) **string {
	switch key {
	case "public":
		return &md.Public
	case "enable_content_trust":
		return &md.EnableContentTrust
	case "enable_content_trust_cosign":
		return &md.EnableContentTrustCosign
	case "content_trust":
		return &md.ContentTrust
	case "prevent_vul":
		return &md.PreventVul
	case "severity":
		return &md.Severity
	case "auto_scan":
		return &md.AutoScan
	case "reuse_sys_cve_allowlist":
		return &md.ReuseSysCVEAllowlist
	case "auto_sbom_generation":
		return &md.AutoSBOMGeneration
	case "proxy_speed_kb":
		return &md.ProxySpeedKB
	case "retention_id":
		return &md.RetentionID
	}
	return nil
}

// metadataDefaults are what deleteProjectMetadata sets: each setting's
// value in a new project.
var metadataDefaults = map[string]string{"public": "false", "enable_content_trust": "false",
	"enable_content_trust_cosign": "false", "content_trust": "", "prevent_vul": "false", "severity": "",
	"auto_scan": "false", "reuse_sys_cve_allowlist": "false", "auto_sbom_generation": "false", "proxy_speed_kb": "-1"}

func (a *API) projectMetadataRoutes() []route {
	get, post, put, del := http.MethodGet, http.MethodPost, http.MethodPut, http.MethodDelete
	pMeta := pProject + "/metadatas/"
	known := "Known names: " + strings.Join(metadataKeys, ", ") + " (retention_id is read-only)"
	return []route{
		{method: get, path: pMeta, id: "listProjectMetadatas", tag: "projectMetadata",
			summary: "A project's settings, by name, as strings. " + known, resp: map[string]string{}, handle: a.listProjectMetadatas},
		{method: post, path: pMeta, id: "addProjectMetadatas", tag: "projectMetadata",
			summary: "Set some of a project's settings (as updateProject's metadata). " + known, body: map[string]string{},
			handle: a.addProjectMetadatas},
		{method: get, path: pMeta + "{meta_name}", id: "getProjectMetadata", tag: "projectMetadata",
			summary: "One setting of a project, as {name: value}", resp: map[string]string{}, handle: a.getProjectMetadata},
		{method: put, path: pMeta + "{meta_name}", id: "updateProjectMetadata", tag: "projectMetadata",
			summary: "Set one setting of a project: the body is {meta_name: value}", body: map[string]string{},
			handle: a.updateProjectMetadata},
		{method: del, path: pMeta + "{meta_name}", id: "deleteProjectMetadata", tag: "projectMetadata",
			summary: "Put one setting of a project back to its default", handle: a.deleteProjectMetadata},
	}
}

// projectMetadata is every setting of the request's project, after
// checking the caller may act on them.
func (a *API) projectMetadata(c *call, act rbac.Action) (map[string]string, error) {
	p, err := c.projectFor(permOn(rbac.ResourceMetadata, act))
	if err != nil {
		return nil, err
	}
	js, err := a.projectsJSON(c, []project.Project{p})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, k := range metadataKeys {
		if v := *metadataField(&js[0].Metadata, k); v != nil {
			out[k] = *v
		}
	}
	return out, nil
}

func (a *API) listProjectMetadatas(c *call) error {
	// The subtree pattern also matches longer paths: answer those 404.
	if !strings.HasSuffix(c.r.URL.Path, "/metadatas/") {
		return notFound(noRouteMessage(c.r))
	}
	md, err := a.projectMetadata(c, rbac.ActionRead)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, md)
}

func (a *API) getProjectMetadata(c *call) error {
	md, err := a.projectMetadata(c, rbac.ActionRead)
	if err != nil {
		return err
	}
	name := c.r.PathValue("meta_name")
	v, ok := md[name]
	if !ok {
		return notFound("project metadata " + strconv.Quote(name) + " is not set; known names: " + strings.Join(metadataKeys, ", "))
	}
	return c.json(http.StatusOK, map[string]string{name: v})
}

// setProjectMetadata writes settings to the request's project.
func (a *API) setProjectMetadata(c *call, act rbac.Action, set map[string]string) error {
	p, err := c.projectFor(permOn(rbac.ResourceMetadata, act))
	if err != nil {
		return err
	}
	var md ProjectMetadata
	for _, k := range slices.Sorted(maps.Keys(set)) {
		f := metadataField(&md, k)
		switch {
		case f == nil:
			return badRequest("project metadata " + strconv.Quote(k) + " is not a setting of berth's; known names: " +
				strings.Join(metadataKeys, ", "))
		case k == "retention_id":
			return badRequest("project metadata retention_id is read-only: set a retention policy with /retentions")
		}
		v := set[k]
		*f = &v
	}
	return a.changeProject(c, p, ProjectReq{Metadata: &md})
}

func (a *API) addProjectMetadatas(c *call) error {
	if !strings.HasSuffix(c.r.URL.Path, "/metadatas/") {
		return notFound(noRouteMessage(c.r))
	}
	set, err := decodeAs[map[string]string](c)
	if err != nil {
		return err
	}
	if len(set) == 0 {
		return badRequest("send at least one setting: {name: value}")
	}
	return a.setProjectMetadata(c, rbac.ActionCreate, set)
}

func (a *API) updateProjectMetadata(c *call) error {
	name := c.r.PathValue("meta_name")
	set, err := decodeAs[map[string]string](c)
	if err != nil {
		return err
	}
	if _, ok := set[name]; !ok || len(set) != 1 {
		return badRequest("the body must be {" + strconv.Quote(name) + ": value}, not one naming " +
			strings.Join(slices.Sorted(maps.Keys(set)), ", "))
	}
	return a.setProjectMetadata(c, rbac.ActionUpdate, set)
}

func (a *API) deleteProjectMetadata(c *call) error {
	name := c.r.PathValue("meta_name")
	def, ok := metadataDefaults[name]
	if !ok {
		if metadataField(&ProjectMetadata{}, name) != nil {
			return badRequest("project metadata " + strconv.Quote(name) + " is read-only")
		}
		return notFound("project metadata " + strconv.Quote(name) + " is not a setting of berth's; known names: " +
			strings.Join(metadataKeys, ", "))
	}
	return a.setProjectMetadata(c, rbac.ActionDelete, map[string]string{name: def})
}
