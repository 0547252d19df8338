package rbac

import (
	"strconv"
	"strings"
)

// Decide reports whether p may perform perm in project, with a reason.
//
// For repository-scoped resources (repository, artifact, tag, artifact-label,
// accessory, scan, sbom) pass the full repository name, such as
// "library/team/app"; its project is its first path component, and project
// may be left empty. For project-level resources pass repository "". With
// both empty the question is system-level (for example read catalog), which
// only system administrators may do.
//
// Permissions from all of a user's bindings (direct and through groups) add
// up; the reason names the highest role that allowed, or on a denial the
// bindings that applied. Public projects additionally let anyone, anonymous
// included, pull and read.
func (e *Engine) Decide(p Principal, project, repository string, perm Permission) Decision {
	if repository != "" {
		if !validRepository(repository) || !strings.Contains(repository, "/") {
			return deny(strconv.Quote(repository) + " is not a valid repository name")
		}
		if project == "" {
			project = projectOf(repository)
		} else if projectOf(repository) != project {
			return deny("repository " + strconv.Quote(repository) + " is not in project " + strconv.Quote(project))
		}
	}
	if d, ok := e.decideAdmin(p, perm); ok {
		return d
	}
	if project == "" {
		return deny(perm.String() + " is a system-level permission; only system administrators hold it")
	}
	pr, ok := e.projects[project]
	if !ok {
		return deny("project " + strconv.Quote(project) + " does not exist")
	}
	s := search{scope: project, perm: perm}
	if repository != "" && repositoryScoped(perm.Resource) {
		s.scope = repository
	}
	switch p.Kind {
	case User:
		s.visit(e.t.grants[grantKey{"user", p.Name, project}])
		for _, g := range p.Groups {
			s.visit(e.t.grants[grantKey{"group", g, project}])
		}
	case Robot:
		s.visit(e.t.grants[grantKey{"robot", p.Name, project}])
		s.visit(e.t.grants[grantKey{"robot", p.Name, "*"}])
	}
	if s.allow != nil {
		return Decision{Allowed: true, Reason: "allowed: " + describe(p, s.allow, perm)}
	}
	if pub := e.t.public[project]; pub != nil && pub.has(perm) {
		return Decision{Allowed: true, Reason: "allowed: project " + strconv.Quote(project) + " is public; anyone may " + perm.String()}
	}
	return deny(e.denial(p, pr, &s))
}

// decideAdmin answers for system administrators: users with the flag set or
// in an admin group.
func (e *Engine) decideAdmin(p Principal, perm Permission) (Decision, bool) {
	if p.Kind != User || !e.t.admin.has(perm) {
		return Decision{}, false
	}
	if p.SystemAdmin {
		return Decision{Allowed: true, Reason: "allowed: " + p.Name + " is a system administrator"}, true
	}
	for _, g := range p.Groups {
		if e.t.adminGroups[g] {
			return Decision{Allowed: true, Reason: "allowed: " + p.Name + " is a system administrator via group " + strconv.Quote(g)}, true
		}
	}
	return Decision{}, false
}

// search walks a principal's grants in one project.
type search struct {
	scope string // the repository, or the project for project-level requests
	perm  Permission
	allow *grant // highest-ranked grant that covers scope and holds perm
	top   *grant // highest-ranked grant that covers scope
	miss  *grant // first grant that does not cover scope
}

func (s *search) visit(gs []*grant) {
	for _, g := range gs {
		if !g.whole && !matchSegments(g.scope, s.scope) {
			if s.miss == nil {
				s.miss = g
			}
			continue
		}
		if s.top == nil || g.rank > s.top.rank {
			s.top = g
		}
		if (s.allow == nil || g.rank > s.allow.rank) && g.perms.has(s.perm) {
			s.allow = g
		}
	}
}

func deny(why string) Decision { return Decision{Reason: "denied: " + why} }
