package api

import (
	"fmt"
	"net/http"
	"strings"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// Bounds of /search: at most maxSearchResults projects and as many
// repositories, of the projects the caller may see.
const (
	maxSearchResults = 100
	maxSearchQuery   = 255
)

// SearchResult is what /search answers: Harbor's Search.
type SearchResult struct {
	Project    []Project          `json:"project" doc:"projects whose name contains q, that the caller may see (at most 100)"`
	Repository []SearchRepository `json:"repository" doc:"repositories whose full name contains q, in projects the caller may see (at most 100)"`
}

// SearchRepository is one repository /search found: Harbor's
// SearchRepository.
type SearchRepository struct {
	ProjectID      int64  `json:"project_id"`
	ProjectName    string `json:"project_name"`
	ProjectPublic  bool   `json:"project_public"`
	RepositoryName string `json:"repository_name" doc:"full name, project first"`
	PullCount      int64  `json:"pull_count" doc:"Always 0: berth does not count pulls"`
	ArtifactCount  int64  `json:"artifact_count"`
}

func (a *API) searchRoutes() []route {
	return []route{{method: http.MethodGet, path: "/search", id: "search", tag: "search",
		summary: "Find the projects and repositories the caller may see whose names contain q",
		query:   []param{{"q", "string", "Text the project or repository name contains", true}},
		resp:    SearchResult{}, handle: a.search}}
}

func (a *API) search(c *call) error {
	q := strings.TrimSpace(c.r.URL.Query().Get("q"))
	if q == "" {
		return badRequest("q is required: the text to search project and repository names for")
	}
	if len(q) > maxSearchQuery {
		return badRequest(fmt.Sprintf("q is longer than %d characters", maxSearchQuery))
	}
	q = strings.ToLower(q) // names are lower-case
	f, err := a.visibleProjectFilter(c)
	if err != nil {
		return err
	}
	// Two queries whatever the catalog's size: the projects whose name
	// contains q, and the repositories whose name does among those the
	// caller may see (as /repositories lists them).
	f.Name = q
	found, _, err := a.deps.Projects.List(c.ctx(), f, project.Page{Limit: maxSearchResults})
	if err != nil {
		return err
	}
	ps, all, err := a.visibleProjects(c)
	if err != nil {
		return err
	}
	rq := registry.RepositoryQuery{Contains: q}
	byName := map[string]project.Project{}
	if !all {
		rq.Prefixes = []string{}
		for _, p := range ps {
			rq.Prefixes = append(rq.Prefixes, p.Name+"/")
			byName[p.Name] = p
		}
	}
	rs, _, err := a.deps.Registry.FindRepositories(c.ctx(), rq, core.Page{Limit: maxSearchResults})
	if err != nil {
		return err
	}
	out := SearchResult{Project: []Project{}, Repository: make([]SearchRepository, 0, len(rs))}
	for _, r := range rs {
		name, _, _ := strings.Cut(r.Name, "/")
		p, ok := byName[name]
		if !ok {
			if p, err = a.deps.Projects.Get(c.ctx(), name); err != nil {
				return err
			}
			byName[name] = p
		}
		out.Repository = append(out.Repository, SearchRepository{ProjectID: p.ID, ProjectName: p.Name,
			ProjectPublic: p.Public, RepositoryName: r.Name, ArtifactCount: int64(r.Artifacts)})
	}
	if out.Project, err = a.projectsJSON(c, found); err != nil {
		return err
	}
	return c.json(http.StatusOK, out)
}

// visibleProjectFilter is the filter of the projects the caller may see:
// all for system admins, public ones and memberships for users, public
// ones for robots and anonymous callers.
func (a *API) visibleProjectFilter(c *call) (project.Filter, error) {
	admin, err := c.isAdmin()
	switch {
	case err != nil:
		return project.Filter{}, err
	case admin:
		return project.Filter{}, nil
	case c.p.Kind == rbac.User:
		return project.Filter{MemberOf: c.subjects(), IncludePublic: true}, nil
	}
	return project.Filter{Public: new(true)}, nil
}
