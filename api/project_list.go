package api

import (
	"strconv"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
)

// listProjects lists what the caller may see: everything for system
// admins, public projects and the user's memberships for users, public
// projects and the robot's own projects for robots, public projects for
// anonymous callers.
func (a *API) listProjects(c *call) error {
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	f, exact, err := projectFilter(c)
	if err != nil {
		return err
	}
	admin, err := c.isAdmin()
	if err != nil {
		return err
	}
	var ps []project.Project
	var total int
	switch {
	case admin:
		ps, total, err = a.listProjectPage(c, f, exact, pg)
	case c.p.Kind == rbac.User:
		f.MemberOf, f.IncludePublic = c.subjects(), true
		ps, total, err = a.listProjectPage(c, f, exact, pg)
	case c.p.Kind == rbac.Robot:
		ps, total, err = a.listRobotProjects(c, f, exact, pg)
	default:
		if f.Public != nil && !*f.Public {
			return c.paged(pg, 0, []Project{})
		}
		f.Public = new(true)
		ps, total, err = a.listProjectPage(c, f, exact, pg)
	}
	if err != nil {
		return err
	}
	out, err := a.projectsJSON(c, ps)
	if err != nil {
		return err
	}
	return c.paged(pg, total, out)
}

// projectFilter reads q (name, name=~, public), name and public. exact is
// the name of q's name=value term.
func projectFilter(c *call) (f project.Filter, exact string, err error) {
	q := c.r.URL.Query()
	terms, err := parseQ(q.Get("q"), "name", "public")
	if err != nil {
		return f, "", err
	}
	if t, ok := terms["name"]; ok {
		if t.fuzzy {
			f.Name = t.value
		} else {
			exact, f.NamePrefix = t.value, t.value
		}
	}
	if v := q.Get("name"); v != "" {
		f.Name = v
	}
	pub := q.Get("public")
	if t, ok := terms["public"]; ok {
		pub = t.value
	}
	if pub != "" {
		b, err := strconv.ParseBool(pub)
		if err != nil {
			return f, "", badRequest("public " + strconv.Quote(pub) + `: want "true" or "false"`)
		}
		f.Public = &b
	}
	keys, err := parseSort(q.Get("sort"), "name", "creation_time", "update_time")
	if err != nil || len(keys) == 0 {
		return f, exact, err
	}
	if len(keys) > 1 {
		return f, "", badRequest("sort: projects sort by one field")
	}
	f.Order = map[string]project.Order{"name": project.ByName, "creation_time": project.ByCreationTime,
		"update_time": project.ByUpdateTime}[keys[0].field]
	f.Descending = keys[0].desc
	return f, exact, nil
}

// listProjectPage lists one page; with an exact name, at most that project.
func (a *API) listProjectPage(c *call, f project.Filter, exact string, pg page) ([]project.Project, int, error) {
	if exact == "" {
		return a.deps.Projects.List(c.ctx(), f, project.Page{Offset: pg.offset(), Limit: pg.size})
	}
	// Names sort before the longer names they prefix: the first match is
	// the exact one, if it is there.
	ps, _, err := a.deps.Projects.List(c.ctx(), f, project.Page{Limit: 1})
	if err != nil || len(ps) == 0 || ps[0].Name != exact {
		return []project.Project{}, 0, err
	}
	return pageOf(ps, pg), 1, nil
}

// listRobotProjects lists the public projects and those a robot holds
// permissions in. Robots are not members, so this reads the matching
// projects and keeps the robot's own in memory.
func (a *API) listRobotProjects(c *call, f project.Filter, exact string, pg page) ([]project.Project, int, error) {
	r, err := a.deps.Robots.Get(c.ctx(), c.p.Name)
	if err != nil {
		return nil, 0, err
	}
	own := map[string]bool{}
	for _, perm := range r.Permissions {
		own[perm.Project] = true
	}
	if own["*"] {
		return a.listProjectPage(c, f, exact, pg)
	}
	var keep []project.Project
	for off := 0; ; {
		ps, total, err := a.deps.Projects.List(c.ctx(), f, project.Page{Offset: off, Limit: project.MaxPageSize})
		if err != nil {
			return nil, 0, err
		}
		for _, p := range ps {
			if (p.Public || own[p.Name]) && (exact == "" || p.Name == exact) {
				keep = append(keep, p)
			}
		}
		off += len(ps)
		if len(ps) == 0 || off >= total {
			break
		}
	}
	return pageOf(keep, pg), len(keep), nil
}
