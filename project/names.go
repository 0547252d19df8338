package project

import (
	"fmt"
	"strings"
)

// MaxNameLength bounds project names, as the registry bounds repository
// names.
const MaxNameLength = 255

// ValidateName checks that name can be a project: one repository-name
// component of the distribution spec, lower-case letters and digits
// separated by '.', '_', '__' or a run of '-' (the expression
// [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*), 1 to MaxNameLength characters. The
// error wraps ErrInvalid and says what is wrong.
func ValidateName(name string) error {
	if err := nameProblem(name); err != "" {
		return fmt.Errorf("%w: project name %q: %s", ErrInvalid, name, err)
	}
	return nil
}

func nameProblem(name string) string {
	switch {
	case name == "":
		return "empty"
	case len(name) > MaxNameLength:
		return fmt.Sprintf("%d characters long, the limit is %d", len(name), MaxNameLength)
	}
	sepStart := -1 // start of the current run of separators
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case c >= 'a' && c <= 'z' || c >= '0' && c <= '9':
			if sepStart >= 0 {
				if sep := name[sepStart:i]; !validSeparator(sep) {
					return fmt.Sprintf("separator %q at offset %d; use one of '.', '_', '__' or a run of '-'", sep, sepStart)
				}
				sepStart = -1
			}
		case c == '.' || c == '_' || c == '-':
			if i == 0 {
				return fmt.Sprintf("starts with %q; it must start with a letter or digit", c)
			}
			if sepStart < 0 {
				sepStart = i
			}
		case c >= 'A' && c <= 'Z':
			return fmt.Sprintf("upper-case %q at offset %d; names are lower-case", c, i)
		case c == '/':
			return "contains '/'; a project is the first path component of a repository"
		default:
			return fmt.Sprintf("character %q at offset %d; use a-z, 0-9, '.', '_' and '-'", rune(c), i)
		}
	}
	if sepStart >= 0 {
		return fmt.Sprintf("ends with %q; it must end with a letter or digit", name[sepStart:])
	}
	return ""
}

func validSeparator(s string) bool {
	return s == "." || s == "_" || s == "__" || strings.Trim(s, "-") == ""
}

// ProjectOf returns the project of a repository: its first path component.
// ok is false when the repository has a single component (Harbor refuses
// repositories outside any project).
func ProjectOf(repository string) (project string, ok bool) {
	project, rest, ok := strings.Cut(repository, "/")
	return project, ok && project != "" && rest != ""
}

// Roles of Harbor, the ones DefaultRoleValidator accepts.
const (
	RoleLimitedGuest = "limited-guest"
	RoleGuest        = "guest"
	RoleDeveloper    = "developer"
	RoleMaintainer   = "maintainer"
	RoleProjectAdmin = "project-admin"
)

// DefaultRoleValidator accepts Harbor's five project roles.
func DefaultRoleValidator(role string) error {
	switch role {
	case RoleLimitedGuest, RoleGuest, RoleDeveloper, RoleMaintainer, RoleProjectAdmin:
		return nil
	}
	return fmt.Errorf("unknown role %q; want %s, %s, %s, %s or %s", role,
		RoleLimitedGuest, RoleGuest, RoleDeveloper, RoleMaintainer, RoleProjectAdmin)
}
