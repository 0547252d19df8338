package api

import (
	"errors"
	"net/http"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
)

// ProjectSummary is a project at a glance, Harbor's shape.
type ProjectSummary struct {
	RepoCount         int64                `json:"repo_count"`
	ChartCount        int64                `json:"chart_count" doc:"Helm charts in the classic chart repository"`
	ProjectAdminCount int64                `json:"project_admin_count" doc:"Users and groups holding the role on the whole project (likewise below)"`
	MaintainerCount   int64                `json:"maintainer_count"`
	DeveloperCount    int64                `json:"developer_count"`
	GuestCount        int64                `json:"guest_count"`
	LimitedGuestCount int64                `json:"limited_guest_count"`
	Quota             *ProjectSummaryQuota `json:"quota,omitempty"`
	Registry          *Registry            `json:"registry,omitempty" doc:"The registry a proxy cache project caches"`
}

// ProjectSummaryQuota is a project's storage limit and usage.
type ProjectSummaryQuota struct {
	Hard map[string]int64 `json:"hard" doc:"storage: the limit in bytes, -1 for none"`
	Used map[string]int64 `json:"used" doc:"storage: bytes used"`
}

// ProjectDeletable tells whether a project may be deleted now.
type ProjectDeletable struct {
	Deletable bool   `json:"deletable"`
	Message   string `json:"message,omitempty" doc:"What keeps it, when it may not be deleted"`
}

// projectGroupRoutes are Harbor's project operations beyond the basic
// ones: the summary, the deletable status and the metadata group.
func (a *API) projectGroupRoutes() []route {
	get := http.MethodGet
	return append([]route{
		{method: get, path: pProject + "/summary", id: "getProjectSummary", tag: "project",
			summary: "Repository, chart and member counts, quota and proxy cache registry of a project",
			resp:    ProjectSummary{}, handle: a.projectSummary},
		{method: get, path: pProject + "/_deletable", id: "getProjectDeletable", tag: "project",
			summary: "Whether the project may be deleted now, and if not, what keeps it (as deleteProject would answer)",
			resp:    ProjectDeletable{}, handle: a.projectDeletable},
	}, a.projectMetadataRoutes()...)
}

func (a *API) projectSummary(c *call) error {
	p, err := c.readableProject()
	if err != nil {
		return err
	}
	repos, err := a.deps.Registry.CountRepositories(c.ctx(), p.Name)
	if err != nil {
		return err
	}
	charts, err := a.chartCount(c.ctx(), p.Name)
	if err != nil {
		return err
	}
	roles, err := a.deps.Projects.RoleCounts(c.ctx(), p.Name)
	if err != nil {
		return err
	}
	used, err := a.deps.Registry.ProjectUsage(c.ctx(), p.Name)
	if err != nil {
		return err
	}
	out := ProjectSummary{RepoCount: int64(repos), ChartCount: int64(charts),
		ProjectAdminCount: int64(roles[project.RoleProjectAdmin]), MaintainerCount: int64(roles[project.RoleMaintainer]),
		DeveloperCount: int64(roles[project.RoleDeveloper]), GuestCount: int64(roles[project.RoleGuest]),
		LimitedGuestCount: int64(roles[project.RoleLimitedGuest]),
		Quota: &ProjectSummaryQuota{Hard: map[string]int64{"storage": quotaOf(p.Metadata.StorageQuota)},
			Used: map[string]int64{"storage": used}}}
	if id := p.Metadata.RegistryID; id != 0 && a.cfg.repl.r != nil {
		e, err := a.cfg.repl.r.Endpoint(c.ctx(), id)
		if err != nil {
			return err
		}
		r := registryJSON(e)
		out.Registry = &r
	}
	return c.json(http.StatusOK, out)
}

func (a *API) projectDeletable(c *call) error {
	p, err := c.projectFor(permOn(rbac.ResourceProject, rbac.ActionDelete))
	if err != nil {
		return err
	}
	err = a.deps.Projects.Deletable(c.ctx(), p.Name)
	switch {
	case err == nil:
		return c.json(http.StatusOK, ProjectDeletable{Deletable: true})
	case errors.Is(err, project.ErrNotEmpty):
		return c.json(http.StatusOK, ProjectDeletable{Message: err.Error()})
	}
	return err
}
