package api

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// Repository is a repository as Harbor shows it: name is the full name,
// project first.
type Repository struct {
	ID            int64     `json:"id" doc:"stable, never given to another repository"`
	Name          string    `json:"name"`
	Description   string    `json:"description"`
	ProjectID     int64     `json:"project_id"`
	ArtifactCount int       `json:"artifact_count"`
	PullCount     int       `json:"pull_count" doc:"Always 0: berth does not count pulls"`
	CreationTime  time.Time `json:"creation_time"`
	UpdateTime    time.Time `json:"update_time"`
}

func repositoryJSON(p project.Project, r registry.Repository) Repository {
	return Repository{ID: r.ID, Name: r.Name, Description: r.Description, ProjectID: p.ID, ArtifactCount: r.Artifacts,
		CreationTime: r.CreatedAt.UTC(), UpdateTime: r.UpdatedAt.UTC()}
}

// repository resolves the request's project and {repository_name} (relative
// to the project, '/' sent as %2F or, by Harbor clients, %252F), and
// checks perm on it.
func (c *call) repository(perm rbac.Permission) (project.Project, string, error) {
	p, err := c.project()
	if err != nil {
		return p, "", err
	}
	rel := c.r.PathValue("repository_name")
	if strings.Contains(rel, "%") {
		if u, err := url.PathUnescape(rel); err == nil {
			rel = u
		}
	}
	full := p.Name + "/" + rel
	if len(full) > project.MaxNameLength {
		return p, "", badRequest(fmt.Sprintf("repository name %q is longer than %d characters", full, project.MaxNameLength))
	}
	for seg := range strings.SplitSeq(rel, "/") {
		if project.ValidateName(seg) != nil {
			return p, "", badRequest(fmt.Sprintf("invalid repository name %q: use path components of lower-case letters and digits separated by '.', '_', '__' or '-'", rel))
		}
	}
	return p, full, c.require(p.Name, full, perm)
}

// findRepository returns the repository named full, if it exists.
func (a *API) findRepository(c *call, full string) (registry.Repository, bool, error) {
	// Names sort before the longer names they prefix.
	rs, _, err := a.deps.Registry.ListRepositories(c.ctx(), full, core.Page{Limit: 1})
	if err != nil || len(rs) == 0 || rs[0].Name != full {
		return registry.Repository{}, false, err
	}
	return rs[0], true, nil
}

// repoListDoc documents the q and sort of repository listings.
const repoListDoc = "q keys: name=value (the full name, or without the project), name=~substring, name={a b} any of; sort: name, creation_time, update_time"

func (a *API) listRepositories(c *call) error {
	p, err := c.project()
	if err != nil {
		return err
	}
	if err := c.require(p.Name, "", permOn(rbac.ResourceRepository, rbac.ActionList)); err != nil {
		return err
	}
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	terms, err := parseQKeys(c.r.URL.Query().Get("q"), qSets("name"))
	if err != nil {
		return err
	}
	order, desc, err := repositorySort(c)
	if err != nil {
		return err
	}
	prefix := p.Name + "/"
	q := registry.RepositoryQuery{Prefixes: []string{prefix}, Order: order, Desc: desc}
	if t, ok := terms["name"]; ok {
		if t.kind == qFuzzy {
			q.Contains = t.value // of the full name, as Harbor matches it
		} else {
			// Names are the full <project>/<repository>, or without the
			// project; another project's are not here.
			q.Names = []string{}
			for _, n := range termValues(t) {
				q.Names = append(q.Names, prefix+strings.TrimPrefix(n, prefix))
			}
		}
	}
	rs, total, err := a.deps.Registry.FindRepositories(c.ctx(), q, core.Page{Offset: pg.offset(), Limit: pg.size})
	if err != nil {
		return err
	}
	out := make([]Repository, 0, len(rs))
	for _, r := range rs {
		out = append(out, repositoryJSON(p, r))
	}
	return c.paged(pg, total, out)
}

func (a *API) getRepository(c *call) error {
	p, full, err := c.repository(permOn(rbac.ResourceRepository, rbac.ActionRead))
	if err != nil {
		return err
	}
	r, ok, err := a.findRepository(c, full)
	if err != nil {
		return err
	}
	if !ok {
		return notFound(fmt.Sprintf("repository %q does not exist", full))
	}
	return c.json(http.StatusOK, repositoryJSON(p, r))
}

func (a *API) deleteRepository(c *call) error {
	_, full, err := c.repository(permOn(rbac.ResourceRepository, rbac.ActionDelete))
	if err != nil {
		return err
	}
	return a.okOr(c, a.deps.Registry.DeleteRepository(c.ctx(), full))
}
