package rbac

import (
	"errors"
	"fmt"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
)

// casbinModel is RBAC with domains, where a domain is a scope: a project name
// for project-level requests, a repository name for repository-scoped ones.
//
//   - p, role:<role>, **, <resource>, <action>      what a role may do
//   - p, robot:<name>, <scope>, <resource>, <action> a robot's explicit list
//   - p, public, <project>/**, <resource>, <action>  anyone, in a public project
//   - p, sysadmin, **, *, *                          system administrators
//   - g, user:<name>|group:<name>, role:<role>, <scope> a binding
//   - g, group:<name>, sysadmin, **                  an admin group
//
// Scopes in rules are repository patterns ("library/**" is the whole
// project library, "**" every project), matched by scopeMatch both in g (as
// the domain matching function) and in the matcher.
const casbinModel = `
[request_definition]
r = sub, scope, obj, act

[policy_definition]
p = sub, scope, obj, act

[role_definition]
g = _, _, _

[policy_effect]
e = some(where (p.eft == allow))

[matchers]
m = (p.obj == "*" || r.obj == p.obj) && (p.act == "*" || r.act == p.act) && g(r.sub, p.sub, r.scope) && scopeMatch(r.scope, p.scope)
`

// Subjects that are not users, groups, robots or roles.
const (
	subjectPublic   = "public"
	subjectSysadmin = "sysadmin"
	rolePrefix      = "role:"
	scopeAll        = "**"
)

// projectScope is the scope pattern of a whole project.
func projectScope(project string) string {
	if project == "*" {
		return scopeAll
	}
	return project + "/**"
}

// newEnforcer builds the Casbin enforcer that holds the policy of record. No
// adapter, no files: the model is parsed from casbinModel and every rule is
// added from the validated Policy.
func newEnforcer(p Policy, o options) (*casbin.Enforcer, error) {
	m, err := model.NewModelFromString(casbinModel)
	if err != nil {
		return nil, fmt.Errorf("rbac: casbin model: %w", err)
	}
	e, err := casbin.NewEnforcer(m)
	if err != nil {
		return nil, fmt.Errorf("rbac: casbin enforcer: %w", err)
	}
	e.AddFunction("scopeMatch", func(args ...any) (any, error) {
		if len(args) != 2 {
			return false, errors.New("scopeMatch takes two arguments")
		}
		name, _ := args[0].(string)
		pattern, _ := args[1].(string)
		return Match(pattern, name), nil
	})
	e.AddNamedDomainMatchingFunc("g", "scopeMatch", func(name, pattern string) bool {
		return Match(pattern, name)
	})

	var rules, links [][]string
	rule := func(sub, scope string, perm Permission) {
		rules = append(rules, []string{sub, scope, string(perm.Resource), string(perm.Action)})
	}
	rule(subjectSysadmin, scopeAll, Permission{"*", ActionAll})
	for _, br := range builtinRoles {
		for _, perm := range Permissions(br.role) {
			rule(rolePrefix+string(br.role), scopeAll, perm)
		}
	}
	for role, list := range p.CustomRoles {
		for _, perm := range list {
			rule(rolePrefix+string(role), scopeAll, perm)
		}
	}
	for _, pr := range p.Projects {
		if pr.Public {
			for _, perm := range o.public {
				rule(subjectPublic, projectScope(pr.Name), perm)
			}
		}
	}
	for _, b := range p.Bindings {
		scope := projectScope(b.Project)
		if b.Repositories != "" {
			scope = b.Repositories
		}
		if strings.HasPrefix(b.Subject, "robot:") {
			for _, perm := range b.Permissions {
				rule(b.Subject, scope, perm)
			}
			continue
		}
		links = append(links, []string{b.Subject, rolePrefix + string(b.Role), scope})
	}
	for _, g := range o.adminGroups {
		links = append(links, []string{"group:" + g, subjectSysadmin, scopeAll})
	}
	if _, err := e.AddPoliciesEx(rules); err != nil {
		return nil, fmt.Errorf("rbac: casbin policies: %w", err)
	}
	if len(links) > 0 {
		// The links are the policy of record, but Decide reads its own
		// tables: building Casbin's role links (with domain matching, each
		// link is matched against every scope: quadratic in the number of
		// projects) is left to the first Enforce that needs them.
		if err := e.GetModel().AddPolicies("g", "g", dedupe(links)); err != nil {
			return nil, fmt.Errorf("rbac: casbin bindings: %w", err)
		}
	}
	return e, nil
}

// dedupe drops repeated links (a subject bound twice to the same role and
// scope), which the model, added to directly, would refuse.
func dedupe(links [][]string) [][]string {
	seen := make(map[[3]string]bool, len(links))
	out := links[:0]
	for _, l := range links {
		k := [3]string{l[0], l[1], l[2]}
		if !seen[k] {
			seen[k] = true
			out = append(out, l)
		}
	}
	return out
}
