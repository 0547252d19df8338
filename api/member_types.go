package api

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"

	"github.com/berthlabs/berth/project"
)

// ProjectMemberEntity is a member as the listing shows it.
type ProjectMemberEntity struct {
	ID           int64     `json:"id" doc:"The grant's number, stable and never reused; use it in /members/{mid}"`
	ProjectID    int64     `json:"project_id"`
	EntityName   string    `json:"entity_name" doc:"User name, or group name or DN"`
	EntityType   string    `json:"entity_type" doc:"u for a user, g for a group"`
	EntityID     int64     `json:"entity_id" doc:"The user's or group's id; 0 when this server does not number them"`
	RoleID       int       `json:"role_id" doc:"1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest; 0 for a custom role"`
	RoleName     string    `json:"role_name"`
	Repositories string    `json:"repositories,omitempty" doc:"berth: the grant covers only the repositories matching this pattern, e.g. library/app-*"`
	CreationTime time.Time `json:"creation_time"`
	UpdateTime   time.Time `json:"update_time"`
}

// ProjectMember adds a member: a user or a group, with a role.
type ProjectMember struct {
	RoleID       int         `json:"role_id"`
	MemberUser   *UserEntity `json:"member_user,omitempty"`
	MemberGroup  *UserGroup  `json:"member_group,omitempty"`
	Repositories string      `json:"repositories,omitempty" doc:"berth: limit the grant to repositories matching this pattern, starting with the project (library/app-*, library/team/**)"`
}

// UserEntity names a user member.
type UserEntity struct {
	UserID   int64  `json:"user_id,omitempty" doc:"The user's id, used when username is empty (as Harbor's clients send it)"`
	Username string `json:"username"`
}

// UserGroup names a group member: by its LDAP DN when set, else its name.
type UserGroup struct {
	ID          int64  `json:"id,omitempty" doc:"The user group's id (/usergroups); in member_group, used when neither group_name nor ldap_group_dn is given"`
	GroupName   string `json:"group_name,omitempty"`
	GroupType   int    `json:"group_type,omitempty" doc:"1 LDAP, 2 HTTP, 3 OIDC"`
	LDAPGroupDN string `json:"ldap_group_dn,omitempty"`
}

// RoleRequest changes a member's role.
type RoleRequest struct {
	RoleID int `json:"role_id"`
}

// Harbor's role IDs and names for berth's roles.
func roleID(role string) int {
	switch role {
	case project.RoleProjectAdmin:
		return 1
	case project.RoleDeveloper:
		return 2
	case project.RoleGuest:
		return 3
	case project.RoleMaintainer:
		return 4
	case project.RoleLimitedGuest:
		return 5
	}
	return 0
}

func roleOf(id int) (string, bool) {
	for _, r := range []string{project.RoleProjectAdmin, project.RoleDeveloper, project.RoleGuest,
		project.RoleMaintainer, project.RoleLimitedGuest} {
		if roleID(r) == id {
			return r, true
		}
	}
	return "", false
}

func harborRoleName(role string) string {
	switch role {
	case project.RoleProjectAdmin:
		return "projectAdmin"
	case project.RoleLimitedGuest:
		return "limitedGuest"
	}
	return role
}

// memberID is the {mid} of a grant: its number.
func memberID(m project.Member) string { return strconv.FormatInt(m.ID, 10) }

// parseLegacyMemberID reads the opaque {mid} of earlier versions, still
// accepted for one release: unpadded base64url of the subject, plus "\n"
// and the repository pattern for repository-level grants. Subjects cannot
// hold control characters, so the split is unambiguous.
func parseLegacyMemberID(id string) (subject, repositories string, err error) {
	b, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(b) == 0 {
		return "", "", notFound("member " + id + " does not exist")
	}
	subject, repositories, _ = strings.Cut(string(b), "\n")
	return subject, repositories, nil
}

func memberJSON(p project.Project, m project.Member, entityID int64) ProjectMemberEntity {
	kind, name, _ := strings.Cut(m.Subject, ":")
	return ProjectMemberEntity{
		ID: m.ID, ProjectID: p.ID, EntityID: entityID, EntityName: name, EntityType: kind[:1],
		RoleID: roleID(m.Role), RoleName: harborRoleName(m.Role), Repositories: m.Repositories,
		CreationTime: m.CreatedAt, UpdateTime: m.UpdatedAt,
	}
}
