package api

import (
	"fmt"
	"strings"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
	"github.com/berthlabs/berth/registry"
)

// maxVisibleProjects bounds the projects whose repositories one listing of
// every repository reads for a caller who is not a system administrator.
const maxVisibleProjects = 1000

// visibleProjects are the projects the caller may see, as listProjects
// lists them; all is true for system administrators (every project).
func (a *API) visibleProjects(c *call) (ps []project.Project, all bool, err error) {
	admin, err := c.isAdmin()
	if err != nil || admin {
		return nil, admin, err
	}
	var f project.Filter
	switch c.p.Kind {
	case rbac.User:
		f.MemberOf, f.IncludePublic = c.subjects(), true
	case rbac.Robot:
		ps, _, err = a.listRobotProjects(c, f, "", page{num: 1, size: maxVisibleProjects})
		return ps, false, err
	default:
		f.Public = new(true)
	}
	ps, total, err := a.deps.Projects.List(c.ctx(), f, project.Page{Limit: maxVisibleProjects})
	if err == nil && total > maxVisibleProjects {
		a.cfg.log.WarnContext(c.ctx(), "repository listing: the caller sees more projects than are listed",
			"caller", c.p.Name, "projects", total, "listed", maxVisibleProjects)
	}
	return ps, false, err
}

// repositorySort reads sort: name, creation_time or update_time, "-" first
// for descending.
func repositorySort(c *call) (registry.RepositoryOrder, bool, error) {
	s := c.r.URL.Query().Get("sort")
	desc := strings.HasPrefix(s, "-")
	switch strings.TrimPrefix(s, "-") {
	case "", "name":
		return registry.ByName, desc, nil
	case "creation_time":
		return registry.ByCreated, desc, nil
	case "update_time":
		return registry.ByUpdated, desc, nil
	}
	return 0, false, badRequest(fmt.Sprintf("sort %s: want name, creation_time or update_time, with '-' first for descending", quoteShort(s)))
}

// listAllRepositories lists the repositories of every project the caller
// may see.
func (a *API) listAllRepositories(c *call) error {
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
	ps, all, err := a.visibleProjects(c)
	if err != nil {
		return err
	}
	q := registry.RepositoryQuery{Order: order, Desc: desc}
	byName := map[string]project.Project{}
	if !all {
		q.Prefixes = []string{}
		for _, p := range ps {
			q.Prefixes = append(q.Prefixes, p.Name+"/")
			byName[p.Name] = p
		}
	}
	exact := ""
	if t, ok := terms["name"]; ok {
		switch t.kind {
		case qFuzzy:
			q.Contains = t.value
		case qExact:
			exact = t.value
		default: // full names; those of projects the caller cannot see stay out by Prefixes
			q.Names = termValues(t)
		}
	}
	var rs []registry.Repository
	var total int
	if exact != "" {
		proj, _, _ := strings.Cut(exact, "/")
		if _, ok := byName[proj]; all || ok {
			r, found, err := a.findRepository(c, exact)
			if err != nil {
				return err
			}
			if found {
				rs, total = pageOf([]registry.Repository{r}, pg), 1
			}
		}
	} else if rs, total, err = a.deps.Registry.FindRepositories(c.ctx(), q, core.Page{Offset: pg.offset(), Limit: pg.size}); err != nil {
		return err
	}
	out := make([]Repository, 0, len(rs))
	for _, r := range rs {
		name, _, _ := strings.Cut(r.Name, "/")
		p, ok := byName[name]
		if !ok {
			if p, err = a.deps.Projects.Get(c.ctx(), name); err != nil {
				return err
			}
			byName[name] = p
		}
		out = append(out, repositoryJSON(p, r))
	}
	return c.paged(pg, total, out)
}

func (a *API) updateRepository(c *call) error {
	_, full, err := c.repository(permOn(rbac.ResourceRepository, rbac.ActionUpdate))
	if err != nil {
		return err
	}
	// The body is a Repository; Harbor changes its description only.
	req, err := decodeAs[Repository](c)
	if err != nil {
		return err
	}
	if len(req.Description) > registry.MaxDescription {
		return badRequest(fmt.Sprintf("description: %d bytes, more than %d", len(req.Description), registry.MaxDescription))
	}
	return a.okOr(c, a.deps.Registry.SetRepositoryDescription(c.ctx(), full, req.Description))
}
