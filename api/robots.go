package api

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/rbac"
)

// checkGrantable refuses permissions the caller does not hold itself: a
// developer cannot mint a robot that deletes.
func (c *call) checkGrantable(perms []auth.RobotPermission) error {
	for _, p := range perms {
		proj := p.Project
		if proj == auth.AllProjects {
			proj = ""
		}
		perm := rbac.Permission{Resource: rbac.Resource(p.Resource), Action: rbac.Action(p.Action)}
		d, err := c.decide(proj, "", perm)
		if err != nil {
			return err
		}
		if !d.Allowed {
			return forbidden(fmt.Sprintf("you cannot grant a robot %s in %s, because you do not hold it: %s", perm, p.Project, d.Reason))
		}
	}
	return nil
}

// checkProjects refuses a system robot's permissions in projects that do
// not exist.
func (a *API) checkProjects(c *call, perms []auth.RobotPermission) error {
	for _, p := range perms {
		if p.Project == auth.AllProjects {
			continue
		}
		ok, err := a.deps.Projects.Exists(c.ctx(), p.Project)
		if err != nil {
			return err
		}
		if !ok {
			return badRequest(fmt.Sprintf("project %q does not exist", p.Project))
		}
	}
	return nil
}

func (a *API) createRobot(c *call) error {
	if c.p.Kind == rbac.Anonymous {
		return unauthorized("authentication required")
	}
	var req RobotCreate
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	if req.Secret != "" {
		return badRequest("berth generates robot secrets; leave secret empty")
	}
	level, proj := auth.RobotLevel(req.Level), ""
	create := permOn(rbac.ResourceRobot, rbac.ActionCreate)
	switch level {
	case auth.RobotSystem:
		if err := c.requireAdmin(create); err != nil {
			return err
		}
	case auth.RobotProject:
		if len(req.Permissions) == 0 {
			return badRequest("a project robot needs a permission naming its project")
		}
		proj = req.Permissions[0].Namespace
		if ok, err := a.deps.Projects.Exists(c.ctx(), proj); err != nil {
			return err
		} else if !ok {
			return notFound(fmt.Sprintf("project %q does not exist", proj))
		}
		if err := c.require(proj, "", create); err != nil {
			return err
		}
	default:
		return badRequest(fmt.Sprintf("level %q: want system or project", req.Level))
	}
	perms, err := a.grantablePerms(c, level, proj, req.Permissions)
	if err != nil {
		return err
	}
	days, err := a.robotDuration(c.ctx())
	if err != nil {
		return err
	}
	if req.Duration != nil && *req.Duration != 0 {
		days = *req.Duration
	}
	if err := robotDays(days); err != nil {
		return err
	}
	expires, err := auth.RobotExpiry(a.cfg.now(), days)
	if err != nil {
		return err
	}
	r, secret, err := a.deps.Robots.Create(c.ctx(), auth.Robot{Name: req.Name, Level: level, Project: proj,
		Description: req.Description, Permissions: perms, Disabled: req.Disable, ExpiresAt: expires})
	if err != nil {
		return err
	}
	return c.created(BasePath+"/robots/"+strconv.FormatInt(r.ID, 10), RobotCreated{ID: r.ID, Name: r.Name, Secret: secret,
		CreationTime: r.CreatedAt, ExpiresAt: unixOrNever(r.ExpiresAt)})
}

// robotName checks that the caller may act on the request's {robot_name}
// (a full name or a robot ID, see robotRef): system admins for system
// robots, the project's RBAC for project robots.
func (c *call) robotName(act rbac.Action) (string, error) {
	name, err := c.robotRef()
	if err != nil {
		return "", err
	}
	proj, _, err := auth.ParseRobotName(name)
	if err != nil {
		return "", notFound(fmt.Sprintf("robot %q does not exist", name))
	}
	perm := permOn(rbac.ResourceRobot, act)
	if proj == "" {
		return name, c.requireAdmin(perm)
	}
	return name, c.require(proj, "", perm)
}

// robotListDoc documents the q and sort of /robots.
const robotListDoc = "q keys: level, project, project_id, name (=v, =~substring, ={a b} any of; the full robot$... name or the part after robot$ and the project); " +
	"sort: name, creation_time, update_time, expires_at, id"

// robotSorts are the fields robots sort by.
func robotSorts() map[string]sortField[auth.Robot] {
	return map[string]sortField[auth.Robot]{
		"name":          func(r *auth.Robot) string { return r.Name },
		"creation_time": func(r *auth.Robot) string { return sTime(r.CreatedAt) },
		"update_time":   func(r *auth.Robot) string { return sTime(r.UpdatedAt) },
		"expires_at":    func(r *auth.Robot) string { return sTime(r.ExpiresAt) },
		"id":            func(r *auth.Robot) string { return sInt(r.ID) },
	}
}

// robotLister lists the robots f selects, page by page from the store, or
// when q names robots, all of them (up to allPageSize) filtered here.
func (a *API) robotLister(c *call, f auth.RobotFilter, terms map[string]qTerm) func(core.Page) ([]auth.Robot, int, error) {
	store := func(p core.Page) ([]auth.Robot, int, error) {
		f.Page = p
		return a.deps.Robots.List(c.ctx(), f)
	}
	t, ok := terms["name"]
	if !ok {
		return store
	}
	return func(p core.Page) ([]auth.Robot, int, error) {
		all, total, err := listAll(store)
		if err != nil {
			return nil, 0, err
		}
		if total > len(all) {
			return nil, 0, badRequest(fmt.Sprintf("q name: %d robots are too many to filter by name (at most %d)", total, allPageSize))
		}
		kept := slices.DeleteFunc(all, func(r auth.Robot) bool {
			short := r.Name[strings.LastIndexAny(r.Name, "$+")+1:]
			return !t.matches(r.Name) && !t.matches(short)
		})
		return sliceLister(kept)(p)
	}
}

func (a *API) listRobots(c *call) error {
	pg, err := parsePage(c.r)
	if err != nil {
		return err
	}
	terms, err := parseQKeys(c.r.URL.Query().Get("q"), qPlain("level"), qPlain("project"), qPlain("project_id"), qPlain("projectid"), qSets("name"))
	if err != nil {
		return err
	}
	f := auth.RobotFilter{Page: core.Page{Offset: pg.offset(), Limit: pg.size}}
	if t, ok := terms["level"]; ok {
		f.Level = auth.RobotLevel(t.value)
		if f.Level != auth.RobotSystem && f.Level != auth.RobotProject {
			return badRequest(fmt.Sprintf("level %q: want system or project", t.value))
		}
	}
	if t, ok := terms["project"]; ok {
		f.Project = t.value
	}
	for _, key := range []string{"project_id", "projectid"} {
		if t, ok := terms[key]; ok {
			id, err := strconv.ParseInt(t.value, 10, 64)
			if err != nil {
				return badRequest(fmt.Sprintf("%s %q: want a number", key, t.value))
			}
			p, err := a.deps.Projects.GetByID(c.ctx(), id)
			if err != nil {
				return err
			}
			f.Project = p.Name
		}
	}
	list := permOn(rbac.ResourceRobot, rbac.ActionList)
	if f.Project == "" {
		err = c.requireAdmin(list)
	} else {
		err = c.require(f.Project, "", list)
	}
	if err != nil {
		return err
	}
	for k, t := range terms {
		if k != "name" && t.kind == qFuzzy {
			return badRequest(fmt.Sprintf("q key %q: ~ (fuzzy) is not supported for it; it takes key=value", k))
		}
	}
	rs, total, err := listPage(c, pg, "name", robotSorts(), a.robotLister(c, f, terms))
	if err != nil {
		return err
	}
	out := make([]Robot, 0, len(rs))
	for i := range rs {
		out = append(out, robotJSON(&rs[i]))
	}
	return c.paged(pg, total, out)
}

func (a *API) getRobot(c *call) error {
	name, err := c.robotName(rbac.ActionRead)
	if err != nil {
		return err
	}
	r, err := a.deps.Robots.Get(c.ctx(), name)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, robotJSON(r))
}

func (a *API) updateRobot(c *call) error {
	name, err := c.robotName(rbac.ActionUpdate)
	if err != nil {
		return err
	}
	cur, err := a.deps.Robots.Get(c.ctx(), name)
	if err != nil {
		return err
	}
	var req robotUpdate
	if err := decodeBody(c.w, c.r, &req); err != nil {
		return err
	}
	switch {
	case req.Name != "" && req.Name != cur.Name:
		return badRequest("a robot cannot be renamed")
	case req.Level != "" && req.Level != string(cur.Level):
		return badRequest("a robot's level cannot change")
	}
	u := auth.RobotUpdate{Description: req.Description, Disabled: req.Disable}
	if req.Permissions != nil {
		perms, err := a.grantablePerms(c, cur.Level, cur.Project, *req.Permissions)
		if err != nil {
			return err
		}
		u.Permissions = &perms
	}
	if d := req.Duration; d != nil && *d != 0 && *d != durationDays(cur) {
		if err := robotDays(*d); err != nil {
			return err
		}
		expires := time.Time{}
		if *d > 0 {
			expires = cur.CreatedAt.AddDate(0, 0, *d)
		}
		u.ExpiresAt = &expires
	}
	if _, err := a.deps.Robots.Update(c.ctx(), name, u); err != nil {
		return err
	}
	return c.ok()
}

// refreshRobot replaces a robot's secret. The body is optional.
func (a *API) refreshRobot(c *call) error {
	name, err := c.robotName(rbac.ActionUpdate)
	if err != nil {
		return err
	}
	var req RobotSec
	if err := decodeBody(c.w, c.r, &req); err != nil && !isEmptyBody(err) {
		return err
	}
	if req.Secret != "" {
		return badRequest("berth generates robot secrets; leave secret empty")
	}
	secret, err := a.deps.Robots.Refresh(c.ctx(), name)
	if err != nil {
		return err
	}
	return c.json(http.StatusOK, RobotSec{Secret: secret})
}

func (a *API) deleteRobot(c *call) error {
	name, err := c.robotName(rbac.ActionDelete)
	if err != nil {
		return err
	}
	return a.okOr(c, a.deps.Robots.Delete(c.ctx(), name))
}

// grantablePerms parses a request's permissions for a robot and checks that
// each names an existing project and is one the caller holds: nobody mints
// a robot stronger than themselves.
func (a *API) grantablePerms(c *call, level auth.RobotLevel, proj string, in []RobotPermission) ([]auth.RobotPermission, error) {
	perms, err := robotPerms(level, proj, in)
	if err != nil {
		return nil, err
	}
	if err := a.checkProjects(c, perms); err != nil {
		return nil, err
	}
	if err := c.checkGrantable(perms); err != nil {
		return nil, err
	}
	return perms, nil
}
