package rbac

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	pull       = Permission{ResourceRepository, ActionPull}
	push       = Permission{ResourceRepository, ActionPush}
	listRepos  = Permission{ResourceRepository, ActionList}
	delArt     = Permission{ResourceArtifact, ActionDelete}
	scanCreate = Permission{ResourceScan, ActionCreate}
	memberAdd  = Permission{ResourceMember, ActionCreate}
	logList    = Permission{ResourceLog, ActionList}
	catalog    = Permission{ResourceCatalog, ActionRead}
)

func user(name string, groups ...string) Principal {
	return Principal{Kind: User, Name: name, Groups: groups}
}

func robot(name string) Principal { return Principal{Kind: Robot, Name: name} }

func testEngine(t *testing.T, opts ...Option) *Engine {
	t.Helper()
	e, err := New(Policy{
		Projects: []Project{{Name: "library", Public: true}, {Name: "secret"}, {Name: "other"}},
		Bindings: []Binding{
			{Subject: "user:alice", Project: "library", Role: Developer},
			{Subject: "user:bob", Project: "library", Role: Guest},
			{Subject: "user:lim", Project: "secret", Role: LimitedGuest},
			// dave: guest directly, developer through a group.
			{Subject: "user:dave", Project: "secret", Role: Guest},
			{Subject: "group:cn=devs,ou=groups,dc=x", Project: "secret", Role: Developer},
			{Subject: "group:cn=qa,ou=groups,dc=x", Project: "secret", Role: LimitedGuest},
			// erin: repository-level grants only.
			{Subject: "user:erin", Project: "secret", Role: Maintainer, Repositories: "secret/team/**"},
			{Subject: "user:erin", Project: "secret", Role: Developer, Repositories: "secret/app*"},
			// fay: custom roles.
			{Subject: "user:fay", Project: "secret", Role: "scanner"},
			{Subject: "user:fay", Project: "other", Role: "auditor"},
			// robots.
			{Subject: "robot:ci", Project: "library", Permissions: []Permission{pull, push}},
			{Subject: "robot:mirror", Project: "*", Permissions: []Permission{pull, listRepos}},
			{Subject: "robot:deploy", Project: "secret", Repositories: "secret/deploy-*", Permissions: []Permission{pull}},
			{Subject: "robot:janitor", Project: "other", Permissions: []Permission{{ResourceArtifact, ActionAll}}},
		},
		CustomRoles: map[Role][]Permission{
			"scanner": {pull, scanCreate, {ResourceScan, ActionRead}},
			"auditor": {logList},
		},
	}, opts...)
	require.NoError(t, err)
	return e
}

func TestDecideReasons(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		name    string
		p       Principal
		project string
		repo    string
		perm    Permission
		allowed bool
		reason  string
	}{
		{"direct role", user("alice"), "", "library/app", push, true,
			`allowed: alice is developer of project "library"`},
		{"role lacks permission", user("bob"), "library", "library/app", push, false,
			`denied: bob is guest of project "library"; guest cannot push repository`},
		{"no role in private", user("carol"), "secret", "secret/app", pull, false,
			`denied: carol has no role in project "secret"`},
		{"no role, public pull", user("carol"), "", "library/app", pull, true,
			`allowed: project "library" is public; anyone may pull repository`},
		{"no role, public push", user("carol"), "", "library/app", push, false,
			`denied: carol has no role in project "library"; public projects only let non-members pull and read`},
		{"anonymous private", Principal{}, "", "secret/app", pull, false,
			`denied: anonymous users may only pull from public projects; "secret" is private`},
		{"anonymous public pull", Principal{}, "", "library/app", pull, true,
			`allowed: project "library" is public; anyone may pull repository`},
		{"anonymous public push", Principal{}, "", "library/app", push, false,
			`denied: anonymous users may only pull from public projects; push repository in "library" needs a login`},
		{"anonymous public member list", Principal{}, "library", "", Permission{ResourceMember, ActionList}, false,
			`denied: anonymous users may only pull from public projects; list member in "library" needs a login`},
		{"limited guest no members", user("lim"), "secret", "", Permission{ResourceMember, ActionList}, false,
			`denied: lim is limited-guest of project "secret"; limited-guest cannot list member`},
		{"limited guest no logs", user("lim"), "secret", "", logList, false,
			`denied: lim is limited-guest of project "secret"; limited-guest cannot list log`},
		{"limited guest reads artifacts", user("lim"), "", "secret/app", Permission{ResourceArtifact, ActionRead}, true,
			`allowed: lim is limited-guest of project "secret"`},
		{"system admin", Principal{Kind: User, Name: "root", SystemAdmin: true}, "secret", "", memberAdd, true,
			`allowed: root is a system administrator`},
		{"system admin on a missing project", Principal{Kind: User, Name: "root", SystemAdmin: true}, "", "nope/app", push, true,
			`allowed: root is a system administrator`},
		{"system-level for admin", Principal{Kind: User, Name: "root", SystemAdmin: true}, "", "", catalog, true,
			`allowed: root is a system administrator`},
		{"system-level for user", user("alice"), "", "", catalog, false,
			`denied: read catalog is a system-level permission; only system administrators hold it`},
		{"robot flag is not admin", Principal{Kind: Robot, Name: "ci", SystemAdmin: true}, "", "secret/app", pull, false,
			`denied: robot "ci" has no pull repository permission on project "secret"`},
		{"missing project", user("alice"), "", "nope/app", pull, false,
			`denied: project "nope" does not exist`},
		{"repository outside project", user("alice"), "library", "secret/app", pull, false,
			`denied: repository "secret/app" is not in project "library"`},
		{"dot-dot repository", user("alice"), "library", "library/../secret/app", pull, false,
			`denied: "library/../secret/app" is not a valid repository name`},
		{"repository without project part", user("alice"), "library", "library", pull, false,
			`denied: "library" is not a valid repository name`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := e.Decide(tt.p, tt.project, tt.repo, tt.perm)
			assert.Equal(t, Decision{Allowed: tt.allowed, Reason: tt.reason}, d)
		})
	}
}

func TestGroups(t *testing.T) {
	e := testEngine(t)
	devs, qa := "cn=devs,ou=groups,dc=x", "cn=qa,ou=groups,dc=x"
	tests := []struct {
		name    string
		p       Principal
		perm    Permission
		allowed bool
		reason  string
	}{
		{"group role above direct role", user("dave", qa, devs), push, true,
			`allowed: dave is developer of project "secret" via group "cn=devs,ou=groups,dc=x"`},
		{"direct role wins over lower group role", user("dave", qa), pull, true,
			`allowed: dave is guest of project "secret"`},
		{"group only", user("gus", devs), push, true,
			`allowed: gus is developer of project "secret" via group "cn=devs,ou=groups,dc=x"`},
		{"no binding applies", user("gus", "cn=other"), pull, false,
			`denied: gus has no role in project "secret"`},
		{"every binding named on denial", user("dave", qa, devs), delArt, false,
			`denied: dave is developer of project "secret" via group "cn=devs,ou=groups,dc=x", and guest of project "secret", and limited-guest of project "secret" via group "cn=qa,ou=groups,dc=x"; none of these roles can delete artifact`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, Decision{tt.allowed, tt.reason}, e.Decide(tt.p, "", "secret/app", tt.perm))
		})
	}
}

func TestAdminGroups(t *testing.T) {
	e := testEngine(t, WithAdminGroups("cn=admins"))
	d := e.Decide(user("zed", "cn=admins"), "secret", "", memberAdd)
	assert.Equal(t, Decision{true, `allowed: zed is a system administrator via group "cn=admins"`}, d)
	assert.False(t, e.Decide(user("zed", "cn=other"), "secret", "", memberAdd).Allowed)
	// Only users: a robot named into the group gets nothing from it.
	assert.False(t, e.Decide(Principal{Kind: Robot, Name: "zed", Groups: []string{"cn=admins"}}, "secret", "", memberAdd).Allowed)
}

func TestRepositoryGrants(t *testing.T) {
	e := testEngine(t)
	erin := user("erin")
	tests := []struct {
		name    string
		repo    string
		perm    Permission
		allowed bool
		reason  string
	}{
		{"** covers the directory itself", "secret/team", delArt, true,
			`allowed: erin is maintainer of "secret/team/**" in project "secret"`},
		{"** covers any depth", "secret/team/a/b/c", delArt, true,
			`allowed: erin is maintainer of "secret/team/**" in project "secret"`},
		{"* prefix", "secret/app-x", push, true,
			`allowed: erin is developer of "secret/app*" in project "secret"`},
		{"* prefix grants only its role", "secret/app-x", delArt, false,
			`denied: erin is developer of "secret/app*" in project "secret"; developer cannot delete artifact`},
		{"* does not cross /", "secret/app/sub", pull, false,
			`denied: erin is maintainer of "secret/team/**" in project "secret", which does not cover "secret/app/sub"`},
		{"sibling not covered", "secret/teams/app", pull, false,
			`denied: erin is maintainer of "secret/team/**" in project "secret", which does not cover "secret/teams/app"`},
		{"no cross-project leakage", "library/team/app", push, false,
			`denied: erin has no role in project "library"; public projects only let non-members pull and read`},
		{"no cross-project leakage, private", "other/team/app", pull, false,
			`denied: erin has no role in project "other"`},
		{"project-level resource not covered", "", memberAdd, false,
			`denied: erin is maintainer of "secret/team/**" in project "secret", which does not cover project-level permission create member`},
		{"repository named on a project-level resource changes nothing", "secret/team/app", Permission{ResourceWebhook, ActionRead}, false,
			`denied: erin is maintainer of "secret/team/**" in project "secret", which does not cover project-level permission read webhook`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			project := ""
			if tt.repo == "" {
				project = "secret"
			}
			assert.Equal(t, Decision{tt.allowed, tt.reason}, e.Decide(erin, project, tt.repo, tt.perm))
		})
	}
}

func TestCustomRoles(t *testing.T) {
	e := testEngine(t)
	fay := user("fay")
	assert.Equal(t, Decision{true, `allowed: fay is scanner of project "secret"`},
		e.Decide(fay, "", "secret/app", scanCreate))
	assert.Equal(t, Decision{true, `allowed: fay is scanner of project "secret"`},
		e.Decide(fay, "", "secret/app", pull))
	assert.Equal(t, Decision{false, `denied: fay is scanner of project "secret"; scanner cannot push repository`},
		e.Decide(fay, "", "secret/app", push))
	assert.Equal(t, Decision{true, `allowed: fay is auditor of project "other"`},
		e.Decide(fay, "other", "", logList))
	assert.False(t, e.Decide(fay, "other", "other/app", pull).Allowed)
	assert.False(t, e.Decide(fay, "secret", "", logList).Allowed)
}

func TestRobots(t *testing.T) {
	e := testEngine(t)
	tests := []struct {
		name    string
		p       Principal
		repo    string
		perm    Permission
		allowed bool
		reason  string
	}{
		{"explicit permission", robot("ci"), "library/app", push, true,
			`allowed: robot "ci" has push repository permission on project "library"`},
		{"missing permission", robot("ci"), "library/app", delArt, false,
			`denied: robot "ci" has no delete artifact permission on project "library"`},
		{"other project", robot("ci"), "secret/app", pull, false,
			`denied: robot "ci" has no pull repository permission on project "secret"`},
		{"public project still public", robot("ci"), "library/app", listRepos, true,
			`allowed: project "library" is public; anyone may list repository`},
		{"wildcard project", robot("mirror"), "secret/app", pull, true,
			`allowed: robot "mirror" has pull repository permission on all projects`},
		{"wildcard project, missing permission", robot("mirror"), "other/app", push, false,
			`denied: robot "mirror" has no push repository permission on project "other"`},
		{"wildcard project cannot reach a missing project", robot("mirror"), "nope/app", pull, false,
			`denied: project "nope" does not exist`},
		{"repository pattern", robot("deploy"), "secret/deploy-web", pull, true,
			`allowed: robot "deploy" has pull repository permission on "secret/deploy-*" in project "secret"`},
		{"repository pattern not covering", robot("deploy"), "secret/web", pull, false,
			`denied: robot "deploy" has permissions only on "secret/deploy-*" in project "secret", which does not cover "secret/web"`},
		{"action wildcard", robot("janitor"), "other/app", delArt, true,
			`allowed: robot "janitor" has delete artifact permission on project "other"`},
		{"action wildcard stays on its resource", robot("janitor"), "other/app", pull, false,
			`denied: robot "janitor" has no pull repository permission on project "other"`},
		{"a user named like a robot gets nothing", user("ci"), "secret/app", pull, false,
			`denied: ci has no role in project "secret"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, Decision{tt.allowed, tt.reason}, e.Decide(tt.p, "", tt.repo, tt.perm))
		})
	}
	// The robot's list permission on library is its own; on secret it has none
	// and secret is private.
	assert.False(t, e.Decide(robot("ci"), "secret", "", listRepos).Allowed)
}

func TestPublicPermissionsOption(t *testing.T) {
	chart := Permission{ResourceHelmChart, ActionRead}
	e := testEngine(t)
	assert.False(t, e.Decide(Principal{}, "library", "", chart).Allowed)
	e = testEngine(t, WithPublicPermissions(pull, chart))
	assert.True(t, e.Decide(Principal{}, "library", "", chart).Allowed)
	assert.True(t, e.Decide(Principal{}, "", "library/app", pull).Allowed)
	assert.False(t, e.Decide(Principal{}, "library", "", listRepos).Allowed)
}
