package rbac

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// casbinAllows answers through the Casbin enforcer alone: a request is
// allowed when any of the principal's subjects passes Enforce.
func (e *Engine) casbinAllows(t *testing.T, p Principal, project, repository string, perm Permission) bool {
	scope := project
	if repository != "" && repositoryScoped(perm.Resource) {
		scope = repository
	}
	subjects := []string{subjectPublic}
	switch p.Kind {
	case User:
		subjects = append(subjects, "user:"+p.Name)
		for _, g := range p.Groups {
			subjects = append(subjects, "group:"+g)
		}
		if p.SystemAdmin {
			subjects = append(subjects, subjectSysadmin)
		}
	case Robot:
		subjects = append(subjects, "robot:"+p.Name)
	}
	for _, sub := range subjects {
		ok, err := e.enforce(sub, scope, string(perm.Resource), string(perm.Action))
		require.NoError(t, err)
		if ok {
			return true
		}
	}
	return false
}

// TestCompiledTablesAgreeWithCasbin is what makes Casbin the engine of
// record: over a grid of principals, projects, repositories and every
// permission in the matrix, Decide's compiled tables give the same answer as
// Casbin's own Enforce on the rules New loaded.
func TestCompiledTablesAgreeWithCasbin(t *testing.T) {
	e := testEngine(t, WithAdminGroups("cn=admins"))
	devs, qa := "cn=devs,ou=groups,dc=x", "cn=qa,ou=groups,dc=x"
	principals := []Principal{
		{}, user("alice"), user("bob"), user("carol"), user("lim"), user("dave", qa, devs),
		user("erin"), user("fay"), user("zed", "cn=admins"),
		{Kind: User, Name: "root", SystemAdmin: true},
		robot("ci"), robot("mirror"), robot("deploy"), robot("janitor"),
	}
	seen := map[Permission]bool{}
	var perms []Permission
	for _, p := range append(Permissions(ProjectAdmin), catalog, Permission{ResourceArtifact, "frobnicate"}, Permission{ResourceQuota, ActionUpdate}) {
		if !seen[p] {
			seen[p] = true
			perms = append(perms, p)
		}
	}
	repos := []string{"", "app-x", "team/a/b", "deploy-web"}
	if testing.Short() {
		repos = repos[:2]
	}
	n := 0
	for _, p := range principals {
		for _, project := range []string{"library", "secret", "other"} {
			for _, r := range repos {
				repo := ""
				if r != "" {
					repo = project + "/" + r
				}
				for _, perm := range perms {
					got := e.Decide(p, project, repo, perm)
					want := e.casbinAllows(t, p, project, repo, perm)
					if got.Allowed != want {
						t.Fatalf("%+v %s %q %s: Decide says %v (%s), Casbin says %v", p, project, repo, perm, got.Allowed, got.Reason, want)
					}
					n++
				}
			}
		}
	}
	t.Logf("%d decisions agree", n)
}
