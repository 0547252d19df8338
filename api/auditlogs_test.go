package api_test

import (
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/audit"
)

func TestAuditLogs(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "dev")
	e.project("team", false, "owner=project-admin", "dev=developer")
	t0 := time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)
	record := func(minute int, actor, action, rtype, resource, proj, result string) {
		require.NoError(t, e.audit.Record(t.Context(), audit.Entry{Time: t0.Add(time.Duration(minute) * time.Minute),
			Actor: actor, Action: action, ResourceType: rtype, Resource: resource, Project: proj, Result: result}))
	}
	record(0, "alice", audit.ActionPush, audit.ResourceArtifact, "team/app:v1", "team", "")
	record(1, "bob", audit.ActionPull, audit.ResourceArtifact, "team/app:v1", "team", "")
	record(2, "mallory", audit.ActionLoginFailure, audit.ResourceSession, "mallory", "", audit.ResultFailure)
	record(3, "alice", audit.ActionPush, audit.ResourceArtifact, "library/nginx:1", "library", "")
	record(4, "owner", audit.ActionMemberAdd, audit.ResourceMember, "user:dev", "team", "")

	query := func(who cred, path, q string) *response {
		if q != "" {
			path += "?q=" + url.QueryEscape(q)
		}
		return e.do(who, http.MethodGet, path, nil)
	}
	tests := []struct {
		name      string
		who       cred
		path, q   string
		operation []string
	}{
		{"everything, newest first", admin(), "/audit-logs", "", []string{"member-add", "push", "login-failure", "pull", "push"}},
		{"by operation", admin(), "/audit-logs", "operation=push", []string{"push", "push"}},
		{"by resource prefix", admin(), "/audit-logs", "resource=~team/", []string{"pull", "push"}},
		{"by user and time", admin(), "/audit-logs", "username=alice,op_time=[2025-06-01 12:00:00~2025-06-01 12:02:00]", []string{"push"}},
		{"failures", admin(), "/audit-logs", "result=failure", []string{"login-failure"}},
		{"a project's log", as("owner"), "/projects/team/logs", "", []string{"member-add", "pull", "push"}},
		{"a project's log, filtered", as("owner"), "/projects/team/logs", "operation=pull", []string{"pull"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.operation, names(t, query(tt.who, tt.path, tt.q), "operation"))
		})
	}

	var logs []api.AuditLog
	query(admin(), "/audit-logs", "username=mallory").ok(t, http.StatusOK, &logs)
	require.Len(t, logs, 1)
	assert.Equal(t, api.AuditLog{ID: logs[0].ID, Username: "mallory", Resource: "mallory", ResourceType: "session",
		Operation: "login-failure", OpTime: t0.Add(2 * time.Minute), Result: "failure", Count: 1}, logs[0])

	// Harbor's sort: op_time ascending, -op_time (the default) descending;
	// q encoded twice, as Harbor's clients send it.
	r := e.do(admin(), http.MethodGet, "/audit-logs?sort=op_time&q="+url.QueryEscape(url.QueryEscape("operation=push")), nil)
	assert.Equal(t, []string{"team/app:v1", "library/nginx:1"}, names(t, r, "resource"))
	r = e.do(admin(), http.MethodGet, "/audit-logs?sort=-op_time&page_size=1", nil)
	assert.Equal(t, []string{"member-add"}, names(t, r, "operation"))
	e.do(admin(), http.MethodGet, "/audit-logs?sort=username", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")

	r = e.do(admin(), http.MethodGet, "/audit-logs?page=2&page_size=2", nil)
	assert.Equal(t, []string{"login-failure", "pull"}, names(t, r, "operation"))
	assert.Equal(t, "5", r.Header.Get("X-Total-Count"))
	assert.Equal(t, `</api/v2.0/audit-logs?page=1&page_size=2>; rel="prev" , </api/v2.0/audit-logs?page=3&page_size=2>; rel="next"`,
		r.Header.Get("Link"))

	refusals := []struct {
		who     cred
		path, q string
		status  int
	}{
		{as("owner"), "/audit-logs", "", 403},
		{anonymous, "/audit-logs", "", 401},
		{as("dev"), "/projects/team/logs", "", 403},
		{admin(), "/audit-logs", "colour=red", 400},
		{admin(), "/audit-logs", "op_time=[yesterday~]", 400},
		{as("owner"), "/projects/team/logs", "project=library", 400},
		{as("owner"), "/projects/nope/logs", "", 404},
	}
	for _, tt := range refusals {
		t.Run(fmt.Sprintf("%s %s %s", tt.who.user, tt.path, tt.q), func(t *testing.T) {
			assert.Equal(t, tt.status, query(tt.who, tt.path, tt.q).Status)
		})
	}
}
