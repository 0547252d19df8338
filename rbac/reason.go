package rbac

import (
	"strconv"
	"strings"
)

// describe says why g allowed perm: `alice is developer of project "library"
// via group "devs"`, or `robot "ci" has push repository permission on project
// "library"`.
func describe(p Principal, g *grant, perm Permission) string {
	if g.role == "" {
		return "robot " + strconv.Quote(p.Name) + " has " + perm.String() + " permission on " + where(g)
	}
	return p.Name + " is " + roleIn(g)
}

// denial explains a denial after the search found no grant holding the
// permission and the project's public permissions did not cover it either.
func (e *Engine) denial(p Principal, pr Project, s *search) string {
	q := strconv.Quote(pr.Name)
	switch {
	case p.Kind == Anonymous && pr.Public:
		return "anonymous users may only pull from public projects; " + s.perm.String() + " in " + q + " needs a login"
	case p.Kind == Anonymous:
		return "anonymous users may only pull from public projects; " + q + " is private"
	case s.top == nil && s.miss != nil:
		covers := "project-level permission " + s.perm.String()
		if s.scope != pr.Name {
			covers = strconv.Quote(s.scope)
		}
		if p.Kind == Robot {
			return "robot " + strconv.Quote(p.Name) + " has permissions only on " + where(s.miss) + ", which does not cover " + covers
		}
		return p.Name + " is " + roleIn(s.miss) + ", which does not cover " + covers
	case p.Kind == Robot:
		return "robot " + strconv.Quote(p.Name) + " has no " + s.perm.String() + " permission on project " + q
	case s.top == nil && pr.Public:
		return p.Name + " has no role in project " + q + "; public projects only let non-members pull and read"
	case s.top == nil:
		return p.Name + " has no role in project " + q
	}
	// A user whose applicable bindings all lack the permission: name them,
	// highest role first.
	roles := e.applicable(p, pr.Name, s)
	var b strings.Builder
	b.WriteString(p.Name + " is ")
	for i, g := range roles {
		if i > 0 {
			b.WriteString(", and ")
		}
		b.WriteString(roleIn(g))
	}
	if len(roles) == 1 {
		b.WriteString("; " + string(roles[0].role) + " cannot " + s.perm.String())
	} else {
		b.WriteString("; none of these roles can " + s.perm.String())
	}
	return b.String()
}

// applicable lists a user's grants covering the search scope, highest rank
// first (direct bindings before group bindings on a tie).
func (e *Engine) applicable(p Principal, project string, s *search) []*grant {
	var out []*grant
	add := func(gs []*grant) {
		for _, g := range gs {
			if g.whole || matchSegments(g.scope, s.scope) {
				out = append(out, g)
			}
		}
	}
	add(e.t.grants[grantKey{"user", p.Name, project}])
	for _, g := range p.Groups {
		add(e.t.grants[grantKey{"group", g, project}])
	}
	// Stable insertion sort by rank, descending: lists are short.
	for i := 1; i < len(out); i++ {
		for j := i; j > 0 && out[j].rank > out[j-1].rank; j-- {
			out[j], out[j-1] = out[j-1], out[j]
		}
	}
	return out
}

// roleIn renders a user or group grant: `developer of project "library"`,
// `developer of "library/team/**" in project "library" via group "devs"`.
func roleIn(g *grant) string {
	s := string(g.role) + " of " + where(g)
	if kind, name, _ := strings.Cut(g.subject, ":"); kind == "group" {
		s += " via group " + strconv.Quote(name)
	}
	return s
}

// where renders a grant's scope: `project "library"`, `all projects`, or
// `"library/team/**" in project "library"`.
func where(g *grant) string {
	switch {
	case g.project == "*" && g.whole:
		return "all projects"
	case g.whole:
		return "project " + strconv.Quote(g.project)
	case g.project == "*":
		return strconv.Quote(g.pattern) + " in any project"
	}
	return strconv.Quote(g.pattern) + " in project " + strconv.Quote(g.project)
}
