package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/audit"
)

func TestAuditLogExts(t *testing.T) {
	e := newEnv(t)
	e.user("alice", "bob")
	e.project("priv", false, "alice=project-admin", "bob=developer")
	e.project("other", false)
	for _, en := range []audit.Entry{
		{Actor: "alice", Action: audit.ActionPush, ResourceType: audit.ResourceArtifact, Resource: "priv/app:1", Project: "priv"},
		{Actor: "admin", Action: "createRegistry", ResourceType: "registry", Resource: "/registries"},
		{Action: audit.ActionLoginFailure, ResourceType: audit.ResourceSession, Resource: "mallory", Result: audit.ResultFailure,
			Detail: "invalid credentials"},
		{Actor: "admin", Action: audit.ActionMemberAdd, ResourceType: audit.ResourceMember, Resource: "user:x", Project: "other"},
	} {
		require.NoError(t, e.audit.Record(t.Context(), en))
	}

	var got []api.AuditLogExt
	r := e.do(admin(), http.MethodGet, "/auditlog-exts", nil)
	r.ok(t, http.StatusOK, &got)
	assert.Equal(t, "4", r.Header.Get("X-Total-Count"))
	require.Len(t, got, 4)
	ops := map[string][3]any{}
	for _, g := range got {
		ops[g.Resource] = [3]any{g.Operation, g.ResourceType, g.OperationResult}
		assert.False(t, g.OpTime.IsZero())
		assert.NotEmpty(t, g.OperationDescription)
	}
	assert.Equal(t, map[string][3]any{
		"priv/app:1":  {"create", "artifact", true},
		"/registries": {"create", "registry", true},
		"mallory":     {"login", "user", false},
		"user:x":      {"create", "project_member", true},
	}, ops)

	t.Run("sort by op_time over every page", func(t *testing.T) {
		order := []string{"priv/app:1", "/registries", "mallory", "user:x"}
		assert.Equal(t, order, walk(t, e, admin(), "/auditlog-exts?sort=op_time", "resource", 1))
		assert.Equal(t, []string{"user:x", "mallory", "/registries", "priv/app:1"}, walk(t, e, admin(), "/auditlog-exts?sort=-op_time", "resource", 3))
		assert.Len(t, fields(t, e.do(admin(), http.MethodGet, "/auditlog-exts?page_size=0", nil), "resource"), 4)
		assert.Equal(t, []string{"priv/app:1"}, walk(t, e, as("alice"), "/projects/priv/auditlog-exts?sort=op_time", "resource", 1))
		e.do(admin(), http.MethodGet, "/auditlog-exts?sort=resource", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
		e.do(as("alice"), http.MethodGet, "/projects/priv/auditlog-exts?sort=user", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	})
	t.Run("a project's entries", func(t *testing.T) {
		e.do(as("alice"), http.MethodGet, "/projects/priv/auditlog-exts", nil).ok(t, http.StatusOK, &got)
		require.Len(t, got, 1)
		assert.Equal(t, "priv/app:1", got[0].Resource)
		e.do(as("alice"), http.MethodGet, "/auditlog-exts?q=project%3Dpriv", nil).ok(t, http.StatusOK, &got)
		require.Len(t, got, 1)
		e.do(as("bob"), http.MethodGet, "/projects/priv/auditlog-exts", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
		e.do(as("alice"), http.MethodGet, "/projects/other/auditlog-exts", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
		e.do(as("alice"), http.MethodGet, "/projects/priv/auditlog-exts?q=project%3Dother", nil).
			fails(t, http.StatusBadRequest, "BAD_REQUEST")
	})
	t.Run("the whole log is for admins", func(t *testing.T) {
		msg := e.do(as("alice"), http.MethodGet, "/auditlog-exts", nil).fails(t, http.StatusForbidden, "FORBIDDEN")
		assert.Contains(t, msg, "q=project=<name>")
		e.do(anonymous, http.MethodGet, "/auditlog-exts", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
		e.do(admin(), http.MethodGet, "/auditlog-exts?q=op_time%3Dnonsense", nil).fails(t, http.StatusBadRequest, "BAD_REQUEST")
	})
	t.Run("event types", func(t *testing.T) {
		var types []api.AuditLogEventType
		e.do(as("bob"), http.MethodGet, "/auditlog-exts/events", nil).ok(t, http.StatusOK, &types)
		assert.Contains(t, types, api.AuditLogEventType{EventType: "create_artifact"})
		assert.Contains(t, types, api.AuditLogEventType{EventType: "login_user"})
		e.do(anonymous, http.MethodGet, "/auditlog-exts/events", nil).fails(t, http.StatusUnauthorized, "UNAUTHORIZED")
	})
}
