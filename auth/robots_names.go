package auth

import (
	"fmt"
	"strings"
	"time"
)

// RobotPrefix starts every robot account name, as in Harbor. User names
// cannot contain '$', so a robot and a user never share a name.
const RobotPrefix = "robot$"

// RobotLevel says whether a robot belongs to the system or to one project.
type RobotLevel string

// Robot levels.
const (
	RobotSystem  RobotLevel = "system"
	RobotProject RobotLevel = "project"
)

// AllProjects in a system robot's permission grants it in every project.
const AllProjects = "*"

// Bounds on robot fields.
const (
	MaxRobotNameLen        = 255 // the full name
	MaxRobotDescriptionLen = 1024
	MaxRobotPermissions    = 256
	maxPermissionFieldLen  = 64
)

// RobotName returns the full name of a robot: robot$<name> for a system
// robot (project ""), robot$<project>+<name> for a project robot.
func RobotName(project, name string) string {
	if project == "" {
		return RobotPrefix + name
	}
	return RobotPrefix + project + "+" + name
}

// IsRobotName reports whether name is a robot account's name, so a Basic
// auth handler can send it to Robots rather than Users.
func IsRobotName(name string) bool { return strings.HasPrefix(name, RobotPrefix) }

// ParseRobotName splits a full robot name into its project ("" for system
// robots) and short name, validating both. Errors wrap ErrInvalid.
func ParseRobotName(full string) (project, name string, err error) {
	rest, ok := strings.CutPrefix(full, RobotPrefix)
	if !ok {
		return "", "", fmt.Errorf("%w: robot name %q must start with %q", ErrInvalid, full, RobotPrefix)
	}
	if len(full) > MaxRobotNameLen {
		return "", "", fmt.Errorf("%w: robot name longer than %d bytes", ErrInvalid, MaxRobotNameLen)
	}
	if p, n, ok := strings.Cut(rest, "+"); ok {
		project, name = p, n
		if err := validateSlug("project", project); err != nil {
			return "", "", err
		}
	} else {
		name = rest
	}
	if err := validateSlug("robot name", name); err != nil {
		return "", "", err
	}
	return project, name, nil
}

// validateSlug accepts Harbor's project and robot name form: lower-case
// letters and digits, separated by single '.', '_' or '-'. No ':' (the
// Basic auth separator), '$', '+', whitespace or control characters.
func validateSlug(what, s string) error {
	bad := s == "" || len(s) > MaxRobotNameLen
	prevSep := true // no separator first
	for i := 0; i < len(s) && !bad; i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
			prevSep = false
		case (c == '.' || c == '_' || c == '-') && !prevSep:
			prevSep = true
		default:
			bad = true
		}
	}
	if bad || prevSep {
		return fmt.Errorf("%w: %s %q: use lower-case letters and digits separated by single '.', '_' or '-'", ErrInvalid, what, s)
	}
	return nil
}

// RobotExpiry turns Harbor's duration in days into an expiry time: -1
// means never (the zero time), a positive number that many days from now.
func RobotExpiry(now time.Time, days int) (time.Time, error) {
	switch {
	case days == -1:
		return time.Time{}, nil
	case days > 0 && days <= 100*365:
		return now.AddDate(0, 0, days), nil
	}
	return time.Time{}, fmt.Errorf("%w: robot duration %d days: want -1 (never) or 1..%d", ErrInvalid, days, 100*365)
}

// RobotPermission grants Action on Resource in Project. Project is
// AllProjects or a project name for system robots, and the robot's own
// project for project robots. ProjectID is the project's immutable id,
// filled in by a store built WithProjects (0 otherwise, and for
// AllProjects): the permission is the named project's only while the
// name still has that id.
type RobotPermission struct {
	Project   string `json:"project"`
	ProjectID int64  `json:"project_id,omitempty"`
	Resource  string `json:"resource"`
	Action    string `json:"action"`
}

// normalizePermissions validates perms for a robot of level in project,
// filling in a project robot's own project.
func normalizePermissions(level RobotLevel, project string, perms []RobotPermission) ([]RobotPermission, error) {
	if len(perms) > MaxRobotPermissions {
		return nil, fmt.Errorf("%w: at most %d permissions per robot", ErrInvalid, MaxRobotPermissions)
	}
	out := make([]RobotPermission, 0, len(perms))
	for _, p := range perms {
		if level == RobotProject {
			if p.Project != "" && p.Project != project {
				return nil, fmt.Errorf("%w: a robot of project %q cannot hold permissions in %q", ErrInvalid, project, p.Project)
			}
			p.Project = project
		} else if p.Project != AllProjects {
			if err := validateSlug("permission project", p.Project); err != nil {
				return nil, fmt.Errorf("%w (or %q for all projects)", err, AllProjects)
			}
		}
		if !permissionField(p.Resource) || !permissionField(p.Action) {
			return nil, fmt.Errorf("%w: permission resource and action must be 1..%d printable characters without spaces, got %q %q",
				ErrInvalid, maxPermissionFieldLen, p.Resource, p.Action)
		}
		out = append(out, p)
	}
	return out, nil
}

func permissionField(s string) bool {
	if s == "" || len(s) > maxPermissionFieldLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}
