package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
)

// Permission is an action on a resource (Harbor's Permission).
type Permission struct {
	Resource string `json:"resource"`
	Action   string `json:"action"`
}

// Permissions lists what a robot may be granted (Harbor's Permissions).
type Permissions struct {
	System  []Permission `json:"system" doc:"berth grants robots no system-level permissions: always empty"`
	Project []Permission `json:"project" doc:"Permissions a robot may hold in a project (or in every project, namespace *)"`
}

// userPermissionRoutes are the user operations that name no user by path
// or answer about permissions: search, the caller's permissions, profile
// changes and the catalogue robots are granted from.
func (a *API) userPermissionRoutes() []route {
	get := http.MethodGet
	return []route{
		{method: get, path: "/users/search", id: "searchUsers", tag: "user",
			summary: "Find users whose name contains username (any signed-in caller; names and IDs only)",
			query:   append([]param{{"username", "string", "Part of the user names to find", true}}, paging...),
			resp:    []UserSearchRespItem{}, paged: true, handle: a.searchUsers},
		{method: get, path: "/users/current/permissions", id: "getCurrentUserPermissions", tag: "user",
			summary: "What the caller may do in a scope: /project/{project_id} (or a project name), or / and empty for the system",
			query: []param{{"scope", "string", "/project/{project_id}, or / for the system (default)", false},
				{"relative", "boolean", "Resources relative to the scope (repository) rather than full (/project/1/repository)", false}},
			resp: []Permission{}, handle: a.currentPermissions},
		{method: http.MethodPut, path: pUser, id: "updateUserProfile", tag: "user",
			summary: "Change a user's email, realname and comment (the user, or a system admin; absent fields are kept)",
			body:    UserProfile{}, handle: a.updateUserProfile},
		{method: get, path: "/permissions", id: "getPermissions", tag: "permissions",
			summary: "The permissions a robot may be granted (system admins, and users who may create robots in a project)",
			resp:    Permissions{}, handle: a.getPermissions},
	}
}

// systemCatalogue is what berth asks at system level: only system
// administrators hold any of it.
var systemCatalogue = []rbac.Permission{
	{Resource: rbac.ResourceProject, Action: rbac.ActionCreate},
	{Resource: "user", Action: rbac.ActionList}, {Resource: "user", Action: rbac.ActionRead},
	{Resource: "user", Action: rbac.ActionCreate}, {Resource: "user", Action: rbac.ActionUpdate},
	{Resource: "user", Action: rbac.ActionDelete},
	{Resource: rbac.ResourceRobot, Action: rbac.ActionList}, {Resource: rbac.ResourceRobot, Action: rbac.ActionRead},
	{Resource: rbac.ResourceRobot, Action: rbac.ActionCreate}, {Resource: rbac.ResourceRobot, Action: rbac.ActionUpdate},
	{Resource: rbac.ResourceRobot, Action: rbac.ActionDelete},
	{Resource: rbac.ResourceConfiguration, Action: rbac.ActionRead},
	{Resource: rbac.ResourceConfiguration, Action: rbac.ActionUpdate},
	{Resource: rbac.ResourceScanner, Action: rbac.ActionList}, {Resource: rbac.ResourceScanner, Action: rbac.ActionRead},
	{Resource: rbac.ResourceScanner, Action: rbac.ActionCreate}, {Resource: rbac.ResourceScanner, Action: rbac.ActionUpdate},
	{Resource: rbac.ResourceScanner, Action: rbac.ActionDelete},
	{Resource: rbac.ResourceQuota, Action: rbac.ActionList}, {Resource: rbac.ResourceQuota, Action: rbac.ActionUpdate},
	{Resource: rbac.ResourceLog, Action: rbac.ActionList},
	{Resource: rbac.ResourceCatalog, Action: rbac.ActionRead},
}

// projectCatalogue is every permission a project grants: the most
// privileged built-in role holds them all.
func projectCatalogue() []rbac.Permission { return rbac.Permissions(rbac.ProjectAdmin) }

// currentPermissions answers getCurrentUserPermissions: the permissions
// of the catalogue that RBAC allows the caller in the scope. An unknown
// project is an empty list, as for a project the caller may not see.
func (a *API) currentPermissions(c *call) error {
	if c.p.Kind == rbac.Anonymous {
		return unauthorized("authentication required")
	}
	q := c.r.URL.Query()
	relative := false
	if s := q.Get("relative"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return badRequest("relative " + strconv.Quote(s) + ": want true or false")
		}
		relative = b
	}
	scope := strings.TrimSuffix(q.Get("scope"), "/")
	prefix, proj, catalogue := "/system/", "", systemCatalogue
	if scope != "" {
		ref, ok := strings.CutPrefix(scope, "/project/")
		if !ok || ref == "" || strings.Contains(ref, "/") || len(ref) > 255 {
			return badRequest("scope " + strconv.Quote(q.Get("scope")) + ": want /project/{project_id} or /")
		}
		p, found, err := a.scopeProject(c, ref)
		if err != nil {
			return err
		}
		if !found {
			return c.json(http.StatusOK, []Permission{})
		}
		prefix, proj, catalogue = scope+"/", p.Name, projectCatalogue()
	}
	out := []Permission{}
	for _, perm := range catalogue {
		d, err := c.decide(proj, "", perm)
		if err != nil {
			return err
		}
		if !d.Allowed {
			continue
		}
		res := string(perm.Resource)
		if !relative {
			res = prefix + res
		}
		out = append(out, Permission{Resource: res, Action: string(perm.Action)})
	}
	return c.json(http.StatusOK, out)
}

// scopeProject resolves the project of a /project/{ref} scope: an ID when
// all digits, else a name.
func (a *API) scopeProject(c *call, ref string) (project.Project, bool, error) {
	var p project.Project
	var err error
	if strings.Trim(ref, "0123456789") == "" {
		id, perr := strconv.ParseInt(ref, 10, 64)
		if perr != nil {
			return p, false, nil
		}
		p, err = a.deps.Projects.GetByID(c.ctx(), id)
	} else {
		p, err = a.deps.Projects.Get(c.ctx(), ref)
	}
	if errors.Is(err, project.ErrNotFound) {
		return p, false, nil
	}
	return p, err == nil, err
}

// getPermissions lists what a robot may be granted, for callers who may
// create robots: system admins, and users who may in one of their
// projects.
func (a *API) getPermissions(c *call) error {
	create := permOn(rbac.ResourceRobot, rbac.ActionCreate)
	if err := c.requireUser(); err != nil {
		return err
	}
	admin, err := c.isAdmin()
	if err != nil {
		return err
	}
	if !admin {
		if ok, err := a.mayCreateRobotSomewhere(c, create); err != nil {
			return err
		} else if !ok {
			return forbidden("only system admins and project admins may see the permissions robots are granted from")
		}
	}
	out := Permissions{System: []Permission{}, Project: []Permission{}}
	for _, p := range projectCatalogue() {
		if knownResource(string(p.Resource)) && knownAction(string(p.Action)) {
			out.Project = append(out.Project, Permission{Resource: string(p.Resource), Action: string(p.Action)})
		}
	}
	return c.json(http.StatusOK, out)
}

// mayCreateRobotSomewhere reports whether the caller may create robots in
// one of the projects it is a member of.
func (a *API) mayCreateRobotSomewhere(c *call, create rbac.Permission) (bool, error) {
	ms, err := a.deps.Projects.MembershipsOf(c.ctx(), c.subjects())
	if err != nil {
		return false, err
	}
	seen := map[string]bool{}
	for _, m := range ms {
		if seen[m.Project] {
			continue
		}
		seen[m.Project] = true
		d, err := c.decide(m.Project, "", create)
		if err != nil {
			return false, err
		}
		if d.Allowed {
			return true, nil
		}
	}
	return false, nil
}
