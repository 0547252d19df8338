package main

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// TestAuditThroughAPI does what the audit log must record — a push and a
// pull with crane, a failed login, a member's role change through the
// management API — and reads the entries back through GET
// /api/v2.0/audit-logs, with its filters and pagination.
func TestAuditThroughAPI(t *testing.T) {
	a := startAuthApp(t)
	const devPass, guestPass = "audit-dev-password", "audit-guest-password"
	e2eCreateProject(t, a, "audit-team", false)
	e2eCreateUser(t, a, "au-dev", devPass)
	e2eCreateUser(t, a, "au-guest", guestPass)
	e2eAddUserMember(t, a, "audit-team", "au-dev", 2)
	e2eAddUserMember(t, a, "audit-team", "au-guest", 3)

	// A push and a pull by the developer, with crane.
	ref := a.host + "/audit-team/app:1"
	out, err := a.crane(t, "au-dev", devPass, "push", writeRandomImage(t), ref)
	require.NoError(t, err, "%s", out)
	out, err = a.crane(t, "au-dev", devPass, "manifest", ref)
	require.NoError(t, err, "%s", out)
	// A failed login.
	out, err = a.crane(t, "au-dev", "not-"+devPass, "manifest", ref)
	require.Error(t, err, "%s", out)
	assert.Contains(t, out, "invalid username or password")
	// A role change, by admin: guest → maintainer.
	members := e2eJSON[[]api.ProjectMemberEntity](t, e2eAdmin(t, a, http.MethodGet,
		"/projects/audit-team/members?entityname=au-guest", nil, http.StatusOK))
	require.Len(t, members, 1)
	require.Equal(t, 3, members[0].RoleID)
	e2eAdmin(t, a, http.MethodPut, "/projects/audit-team/members/"+strconv.FormatInt(members[0].ID, 10), api.RoleRequest{RoleID: 4}, http.StatusOK)
	mxRequireMember(t, a, "audit-team", "au-guest", 4)

	// The recorder writes in batches, asynchronously: poll until all four
	// entries are there.
	list := func(query string) ([]api.AuditLog, e2eResp) {
		t.Helper()
		r := e2eAdmin(t, a, http.MethodGet, "/audit-logs?"+query, nil, http.StatusOK)
		return e2eJSON[[]api.AuditLog](t, r), r
	}
	find := func(logs []api.AuditLog, match func(api.AuditLog) bool) *api.AuditLog {
		if i := slices.IndexFunc(logs, match); i >= 0 {
			return &logs[i]
		}
		return nil
	}
	isPush := func(e api.AuditLog) bool {
		return e.Operation == "push" && e.Username == "au-dev" && strings.Contains(e.Resource, "audit-team/app")
	}
	isPull := func(e api.AuditLog) bool {
		return e.Operation == "pull" && e.Username == "au-dev" && strings.Contains(e.Resource, "audit-team/app")
	}
	isLoginFailure := func(e api.AuditLog) bool {
		return e.Operation == "login-failure" && e.AttemptedUser == "au-dev" && e.Username == "anonymous"
	}
	isRoleChange := func(e api.AuditLog) bool {
		return (e.Operation == "role-change" || e.Operation == "member-update") && e.Username == "admin" &&
			strings.Contains(e.Resource, "au-guest")
	}
	var logs []api.AuditLog
	deadline := time.Now().Add(15 * time.Second)
	for {
		logs, _ = list("page_size=100")
		if find(logs, isPush) != nil && find(logs, isPull) != nil && find(logs, isLoginFailure) != nil &&
			find(logs, isRoleChange) != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("audit entries missing after 15s; the log holds:\n%s", auditDump(logs))
		}
		time.Sleep(50 * time.Millisecond)
	}

	push := find(logs, isPush)
	assert.Equal(t, "success", push.Result)
	assert.Equal(t, "audit-team", push.Project)
	assert.Equal(t, "artifact", push.ResourceType)
	assert.WithinDuration(t, time.Now(), push.OpTime, time.Minute)
	pull := find(logs, isPull)
	assert.Equal(t, "success", pull.Result)
	assert.Equal(t, "audit-team", pull.Project)
	assert.Equal(t, push.Resource, pull.Resource, "the same artifact: audit-team/app:1@<digest>")
	assert.Contains(t, push.Resource, "audit-team/app:1@sha256:")
	assert.False(t, pull.OpTime.Before(push.OpTime), "the pull came after the push")
	failure := find(logs, isLoginFailure)
	assert.Equal(t, "failure", failure.Result)
	assert.Equal(t, "session", failure.ResourceType)
	change := find(logs, isRoleChange)
	assert.Equal(t, "success", change.Result)
	assert.Equal(t, "audit-team", change.Project)
	assert.Equal(t, "member", change.ResourceType)
	assert.Contains(t, change.Detail, "maintainer", "the entry names the new role")
	assert.Nil(t, find(logs, func(e api.AuditLog) bool { return e.Operation == "push" && e.Username != "au-dev" }),
		"only au-dev pushed")
	assert.True(t, slices.IsSortedFunc(logs, func(x, y api.AuditLog) int { return y.OpTime.Compare(x.OpTime) }),
		"newest first")

	t.Run("FilterByOperation", func(t *testing.T) {
		pushes, r := list("page_size=100&q=" + url.QueryEscape("operation=push"))
		require.NotEmpty(t, pushes)
		for _, e := range pushes {
			assert.Equal(t, "push", e.Operation)
		}
		assert.NotNil(t, find(pushes, isPush))
		assert.Equal(t, strconv.Itoa(len(pushes)), r.header.Get("X-Total-Count"))
		failures, _ := list("q=" + url.QueryEscape("operation=login-failure,attempted_user=au-dev"))
		require.Len(t, failures, 1)
		assert.Equal(t, failure.ID, failures[0].ID)
	})

	t.Run("Pagination", func(t *testing.T) {
		all, r := list("page_size=100")
		total, err := strconv.Atoi(r.header.Get("X-Total-Count"))
		require.NoError(t, err)
		require.GreaterOrEqual(t, total, 4)
		require.Len(t, all, total, "fewer than 100 entries: one page holds them all")
		first, r1 := list("page=1&page_size=1")
		require.Len(t, first, 1)
		assert.Equal(t, strconv.Itoa(total), r1.header.Get("X-Total-Count"), "the count is of all entries, not the page")
		assert.Contains(t, r1.header.Get("Link"), `rel="next"`)
		second, r2 := list("page=2&page_size=1")
		require.Len(t, second, 1)
		assert.Equal(t, strconv.Itoa(total), r2.header.Get("X-Total-Count"))
		assert.NotEqual(t, first[0].ID, second[0].ID, "page 2 is another entry")
		assert.Equal(t, all[0].ID, first[0].ID)
		assert.Equal(t, all[1].ID, second[0].ID)
		beyond, _ := list("page=" + strconv.Itoa(total+1) + "&page_size=1")
		assert.Empty(t, beyond)
	})

	t.Run("AdminsOnly", func(t *testing.T) {
		r := e2eDo(t, a, "au-dev", devPass, http.MethodGet, api.BasePath+"/audit-logs", nil)
		assert.Equal(t, http.StatusForbidden, r.status, "%s", r)
		code, msg := r.harborError()
		assert.Equal(t, "FORBIDDEN", code)
		assert.NotEmpty(t, msg)
		r = e2eDo(t, a, "", "", http.MethodGet, api.BasePath+"/audit-logs", nil)
		assert.Equal(t, http.StatusUnauthorized, r.status, "%s", r)
		code, _ = r.harborError()
		assert.Equal(t, "UNAUTHORIZED", code)
	})
}

// auditDump renders entries for a failure message.
func auditDump(logs []api.AuditLog) string {
	var b strings.Builder
	for _, e := range logs {
		b.WriteString(e.OpTime.Format(time.RFC3339Nano) + " " + e.Username + " " + e.Operation + " " +
			e.ResourceType + " " + e.Resource + " " + e.Result + " " + e.Detail + "\n")
	}
	return b.String()
}
