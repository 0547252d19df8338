package api

import (
	"context"
	"net/http"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// Statistic counts projects and repositories as Harbor's /statistics
// does for the caller: public ones for everyone, private ones the caller
// is a member of (all of them for system admins), and totals and storage
// for system admins only.
type Statistic struct {
	PrivateProjectCount     int64 `json:"private_project_count"`
	PrivateRepoCount        int64 `json:"private_repo_count"`
	PublicProjectCount      int64 `json:"public_project_count"`
	PublicRepoCount         int64 `json:"public_repo_count"`
	TotalProjectCount       int64 `json:"total_project_count" doc:"system admins only (0 for others)"`
	TotalRepoCount          int64 `json:"total_repo_count" doc:"system admins only (0 for others)"`
	TotalStorageConsumption int64 `json:"total_storage_consumption" doc:"bytes stored by all projects (their quota usage); system admins only"`
}

func (a *API) statisticRoutes() []route {
	return []route{{method: http.MethodGet, path: "/statistics", id: "getStatistic", tag: "statistic",
		summary: "Count the projects and repositories the caller may see; totals and storage for system admins",
		resp:    Statistic{}, handle: a.getStatistic}}
}

func (a *API) getStatistic(c *call) error {
	if c.p.Kind == rbac.Anonymous {
		return unauthorized("authentication required")
	}
	admin, err := c.isAdmin()
	if err != nil {
		return err
	}
	var st Statistic
	var public, private []string // "<project>/" of each
	count := func(p project.Project) error {
		if p.Public {
			st.PublicProjectCount++
			public = append(public, p.Name+"/")
		} else {
			st.PrivateProjectCount++
			private = append(private, p.Name+"/")
		}
		if admin {
			used, err := a.deps.Registry.ProjectUsage(c.ctx(), p.Name)
			if err != nil {
				return err
			}
			st.TotalStorageConsumption += used
		}
		return nil
	}
	switch {
	case admin:
		err = a.eachProject(c.ctx(), project.Filter{}, count)
	case c.p.Kind == rbac.User:
		err = a.eachProject(c.ctx(), project.Filter{MemberOf: c.subjects(), IncludePublic: true}, count)
	default: // robots: public projects (their own private ones are not memberships)
		err = a.eachProject(c.ctx(), project.Filter{Public: new(true)}, count)
	}
	if err != nil {
		return err
	}
	// Repositories are counted by project prefix, a thousand projects a
	// query, not one query a project.
	if st.PublicRepoCount, err = a.countRepositories(c, public); err != nil {
		return err
	}
	if st.PrivateRepoCount, err = a.countRepositories(c, private); err != nil {
		return err
	}
	if admin {
		st.TotalProjectCount = st.PublicProjectCount + st.PrivateProjectCount
		st.TotalRepoCount = st.PublicRepoCount + st.PrivateRepoCount
	}
	return c.json(http.StatusOK, st)
}

// countRepositories counts the repositories under the prefixes.
func (a *API) countRepositories(c *call, prefixes []string) (int64, error) {
	var n int64
	for len(prefixes) > 0 {
		chunk := prefixes[:min(len(prefixes), 1000)]
		prefixes = prefixes[len(chunk):]
		_, total, err := a.deps.Registry.FindRepositories(c.ctx(), registry.RepositoryQuery{Prefixes: chunk}, core.Page{Limit: 1})
		if err != nil {
			return 0, err
		}
		n += int64(total)
	}
	return n, nil
}

// eachProject calls fn with every project f selects, a page at a time.
func (a *API) eachProject(ctx context.Context, f project.Filter, fn func(project.Project) error) error {
	for off := 0; ; {
		ps, total, err := a.deps.Projects.List(ctx, f, project.Page{Offset: off, Limit: project.MaxPageSize})
		if err != nil {
			return err
		}
		for _, p := range ps {
			if err := fn(p); err != nil {
				return err
			}
		}
		off += len(ps)
		if len(ps) == 0 || off >= total {
			return nil
		}
	}
}
