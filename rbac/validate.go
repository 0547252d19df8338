package rbac

import (
	"fmt"
	"github.com/berthlabs/berth/core"
	"strings"
)

// Errors New wraps; match them with errors.Is.
var (
	ErrUnknownRole    = core.New(core.ErrInvalid, "unknown role")
	ErrUnknownProject = core.New(core.ErrInvalid, "unknown project")
	ErrInvalidPolicy  = core.New(core.ErrInvalid, "invalid policy")
)

// validate checks a Policy before it reaches Casbin, so that every rule in
// the enforcer is well-formed and reasons can be built from it.
func validate(p Policy, o options) error {
	projects := make(map[string]bool, len(p.Projects))
	for _, pr := range p.Projects {
		if !validProject(pr.Name) {
			return fmt.Errorf("rbac: project %q: %w: not a valid project name", pr.Name, ErrInvalidPolicy)
		}
		if projects[pr.Name] {
			return fmt.Errorf("rbac: project %q: %w: listed twice", pr.Name, ErrInvalidPolicy)
		}
		projects[pr.Name] = true
	}
	for role, list := range p.CustomRoles {
		if rank(role) > 0 {
			return fmt.Errorf("rbac: custom role %q: %w: redefines a built-in role", role, ErrInvalidPolicy)
		}
		if !validToken(string(role)) {
			return fmt.Errorf("rbac: custom role %q: %w: not a valid role name", role, ErrInvalidPolicy)
		}
		if err := checkPermissions(list); err != nil {
			return fmt.Errorf("rbac: custom role %q: %w", role, err)
		}
	}
	if err := checkPermissions(o.public); err != nil {
		return fmt.Errorf("rbac: public permissions: %w", err)
	}
	for _, g := range o.adminGroups {
		if !validSubjectName(g) {
			return fmt.Errorf("rbac: admin group %q: %w: not a valid group name", g, ErrInvalidPolicy)
		}
	}
	for i, b := range p.Bindings {
		if err := checkBinding(b, p, projects); err != nil {
			return fmt.Errorf("rbac: binding %d (%s in %q): %w", i, b.Subject, b.Project, err)
		}
	}
	return nil
}

func checkBinding(b Binding, p Policy, projects map[string]bool) error {
	kind, name, _ := strings.Cut(b.Subject, ":")
	if name == "" || !validSubjectName(name) {
		return fmt.Errorf("%w: subject must be user:<name>, group:<name> or robot:<name>", ErrInvalidPolicy)
	}
	switch {
	case b.Project == "*" && kind == "robot":
	case !projects[b.Project]:
		return fmt.Errorf("%w %q", ErrUnknownProject, b.Project)
	}
	if b.Repositories != "" {
		if err := checkPattern(b.Repositories, b.Project); err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidPolicy, err)
		}
	}
	switch kind {
	case "user", "group":
		if len(b.Permissions) > 0 {
			return fmt.Errorf("%w: only robot bindings carry a permission list", ErrInvalidPolicy)
		}
		if b.Role == "" {
			return fmt.Errorf("%w: no role", ErrInvalidPolicy)
		}
		if _, custom := p.CustomRoles[b.Role]; rank(b.Role) == 0 && !custom {
			return fmt.Errorf("%w %q", ErrUnknownRole, b.Role)
		}
	case "robot":
		if b.Role != "" {
			return fmt.Errorf("%w: robots carry permissions, not roles", ErrInvalidPolicy)
		}
		if len(b.Permissions) == 0 {
			return fmt.Errorf("%w: robot binding without permissions", ErrInvalidPolicy)
		}
		return checkPermissions(b.Permissions)
	default:
		return fmt.Errorf("%w: subject must be user:<name>, group:<name> or robot:<name>", ErrInvalidPolicy)
	}
	return nil
}

func checkPermissions(list []Permission) error {
	for _, perm := range list {
		if !validToken(string(perm.Resource)) || !validToken(string(perm.Action)) {
			return fmt.Errorf("%w: permission %q: resource and action must be non-empty words", ErrInvalidPolicy, perm.String())
		}
	}
	return nil
}

// validToken accepts role names, resources and actions: non-empty, printable,
// no spaces or commas (Casbin keys rules by joining fields with commas).
func validToken(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool {
		return r <= ' ' || r == ',' || r == 0x7f
	})
}

// validSubjectName accepts user, group and robot names: non-empty, no
// control characters. Group DNs may contain commas and spaces.
func validSubjectName(s string) bool {
	return s != "" && !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f })
}
