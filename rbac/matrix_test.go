package rbac

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// matrixActions are the columns of the authorization matrix the issue asks
// for, in the order of the want strings below.
var matrixActions = []struct {
	name string
	repo bool // repository-scoped: asked on <project>/app
	perm Permission
}{
	{"pull", true, Permission{ResourceRepository, ActionPull}},
	{"push", true, Permission{ResourceRepository, ActionPush}},
	{"delete", true, Permission{ResourceArtifact, ActionDelete}},
	{"tag-delete", true, Permission{ResourceTag, ActionDelete}},
	{"list", false, Permission{ResourceRepository, ActionList}},
	{"member-add", false, Permission{ResourceMember, ActionCreate}},
	{"robot-create", false, Permission{ResourceRobot, ActionCreate}},
}

// matrixPolicy binds one user per role in both projects, plus a robot that
// may pull and push everywhere.
func matrixPolicy() Policy {
	p := Policy{Projects: []Project{{Name: "pub", Public: true}, {Name: "priv"}}}
	for _, role := range Roles() {
		for _, project := range []string{"pub", "priv"} {
			p.Bindings = append(p.Bindings, Binding{Subject: "user:" + string(role), Project: project, Role: role})
		}
	}
	p.Bindings = append(p.Bindings, Binding{Subject: "robot:ci", Project: "*", Permissions: []Permission{
		{ResourceRepository, ActionPull}, {ResourceRepository, ActionPush},
	}})
	return p
}

func TestMatrix(t *testing.T) {
	e, err := New(matrixPolicy())
	require.NoError(t, err)

	user := func(name string) Principal { return Principal{Kind: User, Name: name} }
	// Columns: pull push delete tag-delete list member-add robot-create.
	tests := []struct {
		who       string
		p         Principal
		pub, priv string
	}{
		{"anonymous", Principal{}, "Y---Y--", "-------"},
		{"non-member", user("carol"), "Y---Y--", "-------"},
		{"limited-guest", user("limited-guest"), "Y---Y--", "Y---Y--"},
		{"guest", user("guest"), "Y---Y--", "Y---Y--"},
		{"developer", user("developer"), "YY--Y--", "YY--Y--"},
		{"maintainer", user("maintainer"), "YYYYY--", "YYYYY--"},
		{"project-admin", user("project-admin"), "YYYYYYY", "YYYYYYY"},
		{"system admin", Principal{Kind: User, Name: "root", SystemAdmin: true}, "YYYYYYY", "YYYYYYY"},
		{"robot pull+push", Principal{Kind: Robot, Name: "ci"}, "YY--Y--", "YY-----"},
	}
	for _, tt := range tests {
		for _, project := range []string{"pub", "priv"} {
			want := tt.pub
			if project == "priv" {
				want = tt.priv
			}
			for i, a := range matrixActions {
				t.Run(fmt.Sprintf("%s/%s/%s", tt.who, project, a.name), func(t *testing.T) {
					repo := ""
					if a.repo {
						repo = project + "/app"
					}
					d := e.Decide(tt.p, project, repo, a.perm)
					assert.Equal(t, want[i] == 'Y', d.Allowed, d.Reason)
					prefix := map[bool]string{true: "allowed: ", false: "denied: "}[d.Allowed]
					assert.True(t, strings.HasPrefix(d.Reason, prefix), d.Reason)
				})
			}
		}
	}
}

// TestRolesNest checks that each built-in role holds everything the one
// below it holds, and the headline differences between them.
func TestRolesNest(t *testing.T) {
	roles := Roles()
	require.Equal(t, []Role{LimitedGuest, Guest, Developer, Maintainer, ProjectAdmin}, roles)
	for i := 1; i < len(roles); i++ {
		assert.Subset(t, Permissions(roles[i]), Permissions(roles[i-1]), "%s ⊇ %s", roles[i], roles[i-1])
		assert.Greater(t, len(Permissions(roles[i])), len(Permissions(roles[i-1])))
	}
	assert.Nil(t, Permissions("nobody"))

	has := func(r Role, res Resource, a Action) bool {
		for _, p := range Permissions(r) {
			if p == (Permission{res, a}) {
				return true
			}
		}
		return false
	}
	tests := []struct {
		role Role
		res  Resource
		act  Action
		want bool
	}{
		{LimitedGuest, ResourceRepository, ActionPull, true},
		{LimitedGuest, ResourceRepository, ActionRead, true},
		{LimitedGuest, ResourceArtifact, ActionRead, true},
		{LimitedGuest, ResourceMember, ActionList, false},
		{LimitedGuest, ResourceLog, ActionList, false},
		{Guest, ResourceMember, ActionList, true},
		{Guest, ResourceRepository, ActionPush, false},
		{Developer, ResourceRepository, ActionPush, true},
		{Developer, ResourceTag, ActionCreate, true},
		{Developer, ResourceArtifactLabel, ActionCreate, true},
		{Developer, ResourceArtifact, ActionDelete, false},
		{Developer, ResourceScan, ActionCreate, false},
		{Maintainer, ResourceRepository, ActionDelete, true},
		{Maintainer, ResourceTag, ActionDelete, true},
		{Maintainer, ResourceImmutableTag, ActionCreate, true},
		{Maintainer, ResourceTagRetention, ActionDelete, true},
		{Maintainer, ResourceScan, ActionStop, true},
		{Maintainer, ResourceWebhook, ActionRead, true},
		{Maintainer, ResourceRobot, ActionRead, true},
		{Maintainer, ResourceRobot, ActionCreate, false},
		{Maintainer, ResourceMember, ActionCreate, false},
		{Maintainer, ResourceMetadata, ActionUpdate, false},
		{ProjectAdmin, ResourceMember, ActionCreate, true},
		{ProjectAdmin, ResourceMember, ActionDelete, true},
		{ProjectAdmin, ResourceRobot, ActionCreate, true},
		{ProjectAdmin, ResourceRobot, ActionDelete, true},
		{ProjectAdmin, ResourceMetadata, ActionUpdate, true},
		{ProjectAdmin, ResourceProject, ActionDelete, true},
		{ProjectAdmin, ResourceLog, ActionList, true},
		{ProjectAdmin, ResourceQuota, ActionUpdate, false}, // system admins only
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, has(tt.role, tt.res, tt.act), "%s %s %s", tt.role, tt.act, tt.res)
	}
}
