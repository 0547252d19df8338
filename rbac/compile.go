package rbac

import (
	"fmt"
	"strings"

	"github.com/casbin/casbin/v2"
)

// permSet is a compiled permission list.
type permSet struct {
	exact map[Permission]struct{}
	wild  bool // some entry has a "*" resource or action
}

func (s *permSet) add(p Permission) {
	if s.exact == nil {
		s.exact = make(map[Permission]struct{})
	}
	s.exact[p] = struct{}{}
	s.wild = s.wild || p.Resource == "*" || p.Action == ActionAll
}

func (s *permSet) has(p Permission) bool {
	if _, ok := s.exact[p]; ok {
		return true
	}
	if !s.wild {
		return false
	}
	for _, q := range [...]Permission{{p.Resource, ActionAll}, {"*", p.Action}, {"*", ActionAll}} {
		if _, ok := s.exact[q]; ok {
			return true
		}
	}
	return false
}

// grant is one compiled binding: a g rule (user or group → role in a scope)
// or the p rules of one robot in one scope.
type grant struct {
	subject string // "user:alice", "group:devs", "robot:ci"
	role    Role   // empty for robots
	rank    int
	perms   *permSet
	pattern string // the scope pattern as written
	scope   []segment
	project string // project name, or "*" for every project
	whole   bool   // covers the whole project, project-level resources included
}

// grantKey indexes grants: kind is "user", "group" or "robot".
type grantKey struct{ kind, name, project string }

func keyOf(subject, project string) grantKey {
	kind, name, _ := strings.Cut(subject, ":")
	return grantKey{kind, name, project}
}

// tables is the compiled view of the enforcer's policy that Decide reads.
type tables struct {
	admin       permSet
	adminGroups map[string]bool
	public      map[string]*permSet // project → what anyone may do there
	grants      map[grantKey][]*grant
}

// compile reads the rules back out of the Casbin enforcer and indexes them
// by (subject, project), so that a decision is a few map lookups instead of
// a scan of every rule. The enforcer, not the Policy value, is the source:
// whatever Casbin holds is what Decide enforces.
func compile(e *casbin.Enforcer) (*tables, error) {
	rules, err := e.GetPolicy()
	if err != nil {
		return nil, fmt.Errorf("rbac: reading casbin policy: %w", err)
	}
	links, err := e.GetGroupingPolicy()
	if err != nil {
		return nil, fmt.Errorf("rbac: reading casbin bindings: %w", err)
	}
	t := &tables{public: map[string]*permSet{}, grants: map[grantKey][]*grant{}, adminGroups: map[string]bool{}}
	roles := map[Role]*permSet{}
	robots := map[[2]string]*grant{} // keyed by (subject, scope pattern)
	for _, r := range rules {
		if len(r) != 4 {
			return nil, fmt.Errorf("rbac: casbin rule %q: want 4 fields", r)
		}
		sub, scope, perm := r[0], r[1], Permission{Resource(r[2]), Action(r[3])}
		switch {
		case sub == subjectSysadmin:
			t.admin.add(perm)
		case sub == subjectPublic:
			project := scopeProject(scope)
			if t.public[project] == nil {
				t.public[project] = &permSet{}
			}
			t.public[project].add(perm)
		case strings.HasPrefix(sub, rolePrefix):
			role := Role(strings.TrimPrefix(sub, rolePrefix))
			if roles[role] == nil {
				roles[role] = &permSet{}
			}
			roles[role].add(perm)
		case strings.HasPrefix(sub, "robot:"):
			g := robots[[2]string{sub, scope}]
			if g == nil {
				g = newGrant(sub, "", scope, &permSet{})
				robots[[2]string{sub, scope}] = g
				t.index(g)
			}
			g.perms.add(perm)
		default:
			return nil, fmt.Errorf("rbac: casbin rule %q: unknown subject", r)
		}
	}
	for _, l := range links {
		if len(l) == 3 && l[1] == subjectSysadmin && strings.HasPrefix(l[0], "group:") {
			t.adminGroups[strings.TrimPrefix(l[0], "group:")] = true
			continue
		}
		if len(l) != 3 || !strings.HasPrefix(l[1], rolePrefix) {
			return nil, fmt.Errorf("rbac: casbin binding %q: want subject, role:<name>, scope", l)
		}
		role := Role(strings.TrimPrefix(l[1], rolePrefix))
		perms := roles[role]
		if perms == nil {
			perms = &permSet{} // a custom role with no permissions
		}
		t.index(newGrant(l[0], role, l[2], perms))
	}
	return t, nil
}

func newGrant(subject string, role Role, pattern string, perms *permSet) *grant {
	project := scopeProject(pattern)
	return &grant{
		subject: subject,
		role:    role,
		rank:    rank(role),
		perms:   perms,
		pattern: pattern,
		scope:   compilePattern(pattern),
		project: project,
		whole:   pattern == projectScope(project),
	}
}

func (t *tables) index(g *grant) {
	k := keyOf(g.subject, g.project)
	t.grants[k] = append(t.grants[k], g)
}

// scopeProject returns the project a scope pattern lies in, or "*" when its
// first segment is a wildcard.
func scopeProject(pattern string) string {
	first := projectOf(pattern)
	if strings.ContainsAny(first, `*?[\`) {
		return "*"
	}
	return first
}
