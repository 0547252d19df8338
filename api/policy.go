package api

import (
	"context"
	"github.com/berthlabs/berth/core"
	"strings"

	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
)

// PolicyLoader returns the function auth.NewPolicy rebuilds its RBAC
// engine with: every project with its visibility, every member as a
// binding, and every enabled robot's permissions, grouped by project.
//
//	policy := auth.NewPolicy(api.PolicyLoader(projects, robots))
//
// Robot permissions in projects that no longer exist are left out (a
// policy naming an unknown project does not build), and so are those whose
// project id is not the id the name has now: a project deleted and created
// again under its name gives the old project's robots nothing. Members
// read while their project was being created are left out too.
func PolicyLoader(projects *project.Store, robots *auth.Robots) func(ctx context.Context) (rbac.Policy, error) {
	return func(ctx context.Context) (rbac.Policy, error) {
		var pol rbac.Policy
		known := map[string]int64{} // name -> id
		for off := 0; ; {
			ps, total, err := projects.List(ctx, project.Filter{}, project.Page{Offset: off, Limit: project.MaxPageSize})
			if err != nil {
				return rbac.Policy{}, err
			}
			for _, p := range ps {
				known[p.Name] = p.ID
				pol.Projects = append(pol.Projects, rbac.Project{Name: p.Name, Public: p.Public})
			}
			off += len(ps)
			if len(ps) == 0 || off >= total {
				break
			}
		}
		for m, err := range projects.AllMembers(ctx) {
			if err != nil {
				return rbac.Policy{}, err
			}
			if _, ok := known[m.Project]; ok {
				pol.Bindings = append(pol.Bindings, rbac.Binding{Subject: m.Subject, Project: m.Project,
					Role: rbac.Role(m.Role), Repositories: m.Repositories})
			}
		}
		for off := 0; ; {
			rs, total, err := robots.List(ctx, auth.RobotFilter{Page: core.Page{Offset: off, Limit: auth.MaxPageSize}})
			if err != nil {
				return rbac.Policy{}, err
			}
			for _, r := range rs {
				if !r.Disabled {
					pol.Bindings = append(pol.Bindings, robotBindings(r, known)...)
				}
			}
			off += len(rs)
			if len(rs) == 0 || off >= total {
				break
			}
		}
		return pol, nil
	}
}

// robotBindings turns a robot's permissions into one binding per project.
func robotBindings(r auth.Robot, known map[string]int64) []rbac.Binding {
	var out []rbac.Binding
	index := map[string]int{}
	for _, p := range r.Permissions {
		if !robotPermissionLive(p, known) || strings.ContainsAny(p.Resource+p.Action, ", ") {
			continue
		}
		i, ok := index[p.Project]
		if !ok {
			i = len(out)
			index[p.Project] = i
			out = append(out, rbac.Binding{Subject: "robot:" + r.Name, Project: p.Project})
		}
		out[i].Permissions = append(out[i].Permissions, rbac.Permission{Resource: rbac.Resource(p.Resource), Action: rbac.Action(p.Action)})
	}
	return out
}

// robotPermissionLive reports whether p's project is the one its name
// holds now: same id, or (stored without ids) still existing. A project
// robot's permissions are all in its own project.
func robotPermissionLive(p auth.RobotPermission, known map[string]int64) bool {
	if p.Project == auth.AllProjects {
		return true
	}
	id, ok := known[p.Project]
	return ok && (p.ProjectID == 0 || p.ProjectID == id)
}
