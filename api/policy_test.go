package api_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/auth"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/rbac"
)

func TestPolicyLoader(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.project("pub", true, "alice=developer")
	e.project("priv", false)
	e.project("gone", false)
	_, err := e.projects.AddMember(ctx, project.Member{Project: "priv", Subject: "group:devs", Role: project.RoleMaintainer,
		Repositories: "priv/team/**"})
	require.NoError(t, err)
	pull := func(proj string) []auth.RobotPermission {
		return []auth.RobotPermission{{Project: proj, Resource: "repository", Action: "pull"}}
	}
	for _, r := range []auth.Robot{
		{Name: "all", Permissions: pull("*")},
		{Name: "ci", Project: "priv", Permissions: append(pull("priv"), auth.RobotPermission{Project: "priv", Resource: "artifact", Action: "delete"})},
		{Name: "orphan", Project: "gone", Permissions: pull("gone")},
		{Name: "off", Project: "priv", Permissions: pull("priv"), Disabled: true},
	} {
		_, _, err := e.robots.Create(ctx, r)
		require.NoError(t, err)
	}
	require.NoError(t, e.projects.Delete(ctx, "gone")) // the store keeps the project's robots

	pol, err := api.PolicyLoader(e.projects, e.robots)(ctx)
	require.NoError(t, err)
	assert.Equal(t, []rbac.Project{{Name: "priv"}, {Name: "pub", Public: true}}, pol.Projects)
	eng, err := rbac.New(pol)
	require.NoError(t, err)

	pullPerm := rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPull}
	pushPerm := rbac.Permission{Resource: rbac.ResourceRepository, Action: rbac.ActionPush}
	deletePerm := rbac.Permission{Resource: rbac.ResourceArtifact, Action: rbac.ActionDelete}
	robot := func(name string) rbac.Principal { return rbac.Principal{Kind: rbac.Robot, Name: name} }
	tests := []struct {
		name string
		p    rbac.Principal
		repo string
		perm rbac.Permission
		want bool
	}{
		{"member", rbac.Principal{Kind: rbac.User, Name: "alice"}, "pub/app", pushPerm, true},
		{"group with a repository grant", rbac.Principal{Kind: rbac.User, Name: "bob", Groups: []string{"devs"}}, "priv/team/app", deletePerm, true},
		{"outside the grant", rbac.Principal{Kind: rbac.User, Name: "bob", Groups: []string{"devs"}}, "priv/app", pullPerm, false},
		{"robot in every project", robot("robot$all"), "priv/app", pullPerm, true},
		{"project robot", robot("robot$priv+ci"), "priv/app", deletePerm, true},
		{"project robot elsewhere", robot("robot$priv+ci"), "pub/app", deletePerm, false},
		{"disabled robot", robot("robot$priv+off"), "priv/app", pullPerm, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, eng.Decide(tt.p, "", tt.repo, tt.perm).Allowed)
		})
	}
}
