package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// mxPrincipal is one caller of the authorization matrix.
type mxPrincipal struct {
	label      string // as printed in the matrix
	user, pass string // empty user: anonymous
	roleID     int    // Harbor role id held in both projects; 0 for none
}

// The matrix's actions, in print order.
const (
	mxPull      = "pull"
	mxPush      = "push"
	mxDelete    = "delete"
	mxTagDelete = "tag-del"
	mxCatalog   = "catalog"
	mxMemberAdd = "member+"
	mxRobot     = "robot+"
)

var mxActions = []string{mxPull, mxPush, mxDelete, mxTagDelete, mxCatalog, mxMemberAdd, mxRobot}

// mxExpected is Harbor's matrix as rbac/matrix.go implements it: each
// role adds to the one below it (limited guest and guest pull; developer
// pushes; maintainer deletes artifacts and tags; project admin manages
// members and robots); the catalog is for system admins only; anonymous
// callers and non-members may only pull, and only from public projects.
func mxExpected(p mxPrincipal, action string, public bool) bool {
	if p.user == "admin" {
		return true
	}
	// Harbor role ids: 1 project admin, 2 developer, 3 guest, 4 maintainer, 5 limited guest.
	rank := map[int]int{5: 1, 3: 2, 2: 3, 4: 4, 1: 5}[p.roleID]
	switch action {
	case mxPull:
		return rank >= 1 || public
	case mxPush:
		return rank >= 3
	case mxDelete, mxTagDelete:
		return rank >= 4
	case mxMemberAdd, mxRobot:
		return rank >= 5
	case mxCatalog:
		return false
	}
	panic("unknown action " + action)
}

// TestAuthorizationMatrixWithRealClients checks, over HTTP, each principal
// × action × public/private project against Harbor's permission matrix:
// the registry part with crane (and net/http for tag deletion, which crane
// cannot do), the rest with the management API.
func TestAuthorizationMatrixWithRealClients(t *testing.T) {
	a := startAuthApp(t)
	const pw = "matrix-password-1"
	principals := []mxPrincipal{
		{label: "anonymous"},
		{label: "non-member", user: "mx-outsider", pass: pw},
		{label: "limited-guest", user: "mx-limited", pass: pw, roleID: 5},
		{label: "guest", user: "mx-guest", pass: pw, roleID: 3},
		{label: "developer", user: "mx-dev", pass: pw, roleID: 2},
		{label: "maintainer", user: "mx-maint", pass: pw, roleID: 4},
		{label: "project-admin", user: "mx-padmin", pass: pw, roleID: 1},
		{label: "system-admin", user: "admin", pass: e2eAdminPassword},
	}
	projects := []struct {
		name   string
		public bool
	}{{"mx-public", true}, {"mx-private", false}}

	// Set up through the management API, as admin.
	for _, p := range projects {
		e2eCreateProject(t, a, p.name, p.public)
	}
	for _, pr := range principals {
		if pr.user != "" && pr.user != "admin" {
			e2eCreateUser(t, a, pr.user, pr.pass)
		}
		// The user each principal tries to add as a member.
		e2eCreateUser(t, a, mxRecruit(pr), pw)
		for _, p := range projects {
			if pr.roleID != 0 {
				e2eAddUserMember(t, a, p.name, pr.user, pr.roleID)
			}
		}
	}
	for _, p := range projects {
		got := e2eJSON[api.Project](t, e2eAdmin(t, a, http.MethodGet, "/projects/"+p.name, nil, http.StatusOK))
		require.NotNil(t, got.Metadata.Public)
		require.Equal(t, fmt.Sprint(p.public), *got.Metadata.Public, "project %s visibility", p.name)
		members := e2eJSON[[]api.ProjectMemberEntity](t, e2eAdmin(t, a, http.MethodGet,
			"/projects/"+p.name+"/members?page_size=100", nil, http.StatusOK))
		roles := map[string]int{}
		for _, m := range members {
			roles[m.EntityName] = m.RoleID
		}
		for _, pr := range principals {
			if pr.roleID != 0 {
				require.Equal(t, pr.roleID, roles[pr.user], "%s's role in %s", pr.user, p.name)
			}
		}
	}

	// One image in each project, pushed by admin with crane; throwaway
	// images for the delete cells and tags for the tag-delete cells.
	image := writeRandomImage(t)
	digests := map[string]string{} // project/principal → digest to delete
	for _, p := range projects {
		out, err := a.crane(t, "admin", e2eAdminPassword, "push", image, a.host+"/"+p.name+"/app:v1")
		require.NoError(t, err, "admin pushes into %s: %s", p.name, out)
		e2ePushRandom(t, a, p.name+"/tagdel:base")
		for _, pr := range principals {
			digests[p.name+"/"+pr.label] = e2ePushRandom(t, a, p.name+"/del:"+mxSlug(pr)).String()
			e2eTag(t, a, p.name+"/tagdel:base", mxSlug(pr))
		}
	}

	type cellKey struct{ principal, action, project string }
	results := map[cellKey]bool{}
	for _, pr := range principals {
		for _, p := range projects {
			for _, action := range mxActions {
				want := mxExpected(pr, action, p.public)
				got, detail := mxRun(t, a, pr, action, p.name, digests[p.name+"/"+pr.label])
				results[cellKey{pr.label, action, p.name}] = got
				assert.Equal(t, want, got, "%s %s in %s project %s: %s", pr.label, action,
					map[bool]string{true: "public", false: "private"}[p.public], p.name, detail)
			}
		}
	}

	// The matrix as observed, one row per principal; each cell is the
	// public project's outcome, then the private one's (the catalog is
	// registry-wide: it was asked once per column).
	var b strings.Builder
	fmt.Fprintf(&b, "authorization matrix (observed; cell = public/private, Y allowed, - denied)\n%-14s", "")
	for _, action := range mxActions {
		fmt.Fprintf(&b, " %-8s", action)
	}
	b.WriteString("\n")
	mark := map[bool]string{true: "Y", false: "-"}
	for _, pr := range principals {
		fmt.Fprintf(&b, "%-14s", pr.label)
		for _, action := range mxActions {
			fmt.Fprintf(&b, " %-8s", mark[results[cellKey{pr.label, action, "mx-public"}]]+"/"+
				mark[results[cellKey{pr.label, action, "mx-private"}]])
		}
		b.WriteString("\n")
	}
	t.Log("\n" + b.String())
}

// mxSlug names a principal in tags, repository and robot names.
func mxSlug(p mxPrincipal) string { return strings.ReplaceAll(p.label, "-", "") }

// mxRecruit is the user p tries to add as a member.
func mxRecruit(p mxPrincipal) string { return "mx-recruit-" + mxSlug(p) }

// mxRun performs one cell of the matrix and reports whether it was
// allowed, checking that allowed actions had their effect, denied ones
// none, and that denials have the right shape.
// dgst is the throwaway image of the delete cell.
func mxRun(t *testing.T, a *authApp, p mxPrincipal, action, proj, dgst string) (allowed bool, detail string) {
	t.Helper()
	switch action {
	case mxPull:
		out, err := a.crane(t, p.user, p.pass, "manifest", a.host+"/"+proj+"/app:v1")
		if err == nil {
			assert.Contains(t, out, `"schemaVersion"`, "crane manifest prints the manifest")
			return true, out
		}
		mxRequireCraneDenied(t, out)
		return false, out

	case mxPush:
		tag := "push-" + mxSlug(p)
		out, err := a.crane(t, p.user, p.pass, "push", writeRandomImage(t), a.host+"/"+proj+"/app:"+tag)
		exists := e2eManifestExists(t, a, proj+"/app", tag)
		if err == nil {
			assert.True(t, exists, "the pushed tag exists")
			return true, out
		}
		mxRequireCraneDenied(t, out)
		assert.False(t, exists, "a refused push leaves no tag")
		return false, out

	case mxDelete:
		require.True(t, e2eManifestExists(t, a, proj+"/del", dgst), "throwaway image present before the attempt")
		out, err := a.crane(t, p.user, p.pass, "delete", a.host+"/"+proj+"/del@"+dgst)
		exists := e2eManifestExists(t, a, proj+"/del", dgst)
		if err == nil {
			assert.False(t, exists, "the deleted manifest is gone")
			return true, out
		}
		mxRequireCraneDenied(t, out)
		assert.True(t, exists, "a refused delete leaves the manifest")
		return false, out

	case mxTagDelete:
		repo, tag := proj+"/tagdel", mxSlug(p)
		require.True(t, e2eManifestExists(t, a, repo, tag), "tag present before the attempt")
		token, granted := e2eToken(t, a, p.user, p.pass, "repository:"+repo+":delete")
		r := e2eDo(t, a, "", "", http.MethodDelete, "/v2/"+repo+"/manifests/"+tag, nil, "Authorization", "Bearer "+token)
		exists := e2eManifestExists(t, a, repo, tag)
		detail = fmt.Sprintf("token grants %v; DELETE: %s", granted, r)
		if r.status == http.StatusAccepted {
			assert.Equal(t, []string{"delete"}, granted, detail)
			assert.False(t, exists, "the deleted tag is gone")
			assert.True(t, e2eManifestExists(t, a, repo, "base"), "deleting a tag keeps the artifact and its other tags")
			return true, detail
		}
		assert.Empty(t, granted, "a token for a denied scope grants nothing: %s", detail)
		assert.Equal(t, http.StatusUnauthorized, r.status, detail)
		assert.Contains(t, r.header.Get("WWW-Authenticate"), `error="insufficient_scope"`, detail)
		assert.True(t, exists, "a refused tag delete leaves the tag")
		return false, detail

	case mxCatalog:
		out, err := a.crane(t, p.user, p.pass, "catalog", a.host)
		if err == nil {
			assert.Contains(t, out, "mx-private/app", "the catalog lists private repositories too")
			return true, out
		}
		mxRequireCraneDenied(t, out)
		return false, out

	case mxMemberAdd:
		r := e2eDo(t, a, p.user, p.pass, http.MethodPost, api.BasePath+"/projects/"+proj+"/members",
			api.ProjectMember{RoleID: 3, MemberUser: &api.UserEntity{Username: mxRecruit(p)}})
		if r.status == http.StatusCreated {
			mxRequireMember(t, a, proj, mxRecruit(p), 3)
			return true, r.String()
		}
		mxRequireAPIDenied(t, p, r)
		return false, r.String()

	case mxRobot:
		req := api.RobotCreate{Name: "mx-" + mxSlug(p), Level: "project", Permissions: []api.RobotPermission{{
			Kind: "project", Namespace: proj, Access: []api.RobotAccess{{Resource: "repository", Action: "pull"}}}}}
		r := e2eDo(t, a, p.user, p.pass, http.MethodPost, api.BasePath+"/robots", req)
		if r.status == http.StatusCreated {
			created := e2eJSON[api.RobotCreated](t, r)
			assert.Equal(t, "robot$"+proj+"+"+req.Name, created.Name)
			assert.NotEmpty(t, created.Secret, "the secret is shown once, at creation")
			return true, r.String()
		}
		mxRequireAPIDenied(t, p, r)
		return false, r.String()
	}
	t.Fatalf("unknown action %q", action)
	return false, ""
}

// mxRequireCraneDenied checks that crane failed on an authorization
// answer, not on something else.
func mxRequireCraneDenied(t *testing.T, out string) {
	t.Helper()
	assert.Regexp(t, `UNAUTHORIZED|DENIED|401 Unauthorized|403 Forbidden`, out, "crane was refused by authorization")
}

// mxRequireAPIDenied checks a management API denial: 401 for anonymous
// callers, 403 for the others, with a Harbor-shaped body whose message
// names the caller (RBAC's reason).
func mxRequireAPIDenied(t *testing.T, p mxPrincipal, r e2eResp) {
	t.Helper()
	code, msg := r.harborError()
	if p.user == "" {
		assert.Equal(t, http.StatusUnauthorized, r.status, "%s", r)
		assert.Equal(t, "UNAUTHORIZED", code, "%s", r)
		assert.NotEmpty(t, r.header.Get("WWW-Authenticate"), "a 401 challenges")
		assert.Contains(t, msg, "authentication required")
		return
	}
	assert.Equal(t, http.StatusForbidden, r.status, "%s", r)
	assert.Equal(t, "FORBIDDEN", code, "%s", r)
	assert.Contains(t, msg, p.user, "the reason names who was refused: %s", r)
}

// mxRequireMember checks, as admin, that user holds roleID in proj.
func mxRequireMember(t *testing.T, a *authApp, proj, user string, roleID int) {
	t.Helper()
	members := e2eJSON[[]api.ProjectMemberEntity](t, e2eAdmin(t, a, http.MethodGet,
		"/projects/"+proj+"/members?entityname="+user, nil, http.StatusOK))
	require.Len(t, members, 1, "member %s of %s", user, proj)
	assert.Equal(t, roleID, members[0].RoleID)
	assert.Equal(t, "u", members[0].EntityType)
}
