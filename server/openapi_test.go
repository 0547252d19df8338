package server_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The default server's OpenAPI document describes every lifecycle API
// group it serves, in Harbor's paths.
func TestOpenAPIListsTheLifecycleGroups(t *testing.T) {
	base := startWiringServer(t)
	status, _, body := wiringCall(t, base, http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, status)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string   `json:"operationId"`
			Tags        []string `json:"tags"`
		} `json:"paths"`
	}
	require.NoError(t, json.Unmarshal(body, &doc))
	want := map[string][]string{
		"/system/gc":                  {"get"},
		"/system/gc/{gc_id}":          {"get", "put"},
		"/system/gc/{gc_id}/log":      {"get"},
		"/system/gc/schedule":         {"get", "post", "put"},
		"/quotas":                     {"get"},
		"/quotas/{id}":                {"get", "put"},
		"/retentions":                 {"post"},
		"/retentions/metadatas":       {"get"},
		"/retentions/{id}":            {"get", "put", "delete"},
		"/retentions/{id}/executions": {"get", "post"},
		"/retentions/{id}/executions/{execution_id}":                                     {"patch"},
		"/retentions/{id}/executions/{execution_id}/tasks":                               {"get"},
		"/projects/{project_name_or_id}/immutabletagrules":                               {"get", "post"},
		"/projects/{project_name_or_id}/immutabletagrules/{immutable_rule_id}":           {"put", "delete"},
		"/projects/{project_name_or_id}/webhook/policies":                                {"get", "post"},
		"/projects/{project_name_or_id}/webhook/policies/{webhook_policy_id}":            {"get", "put", "delete"},
		"/projects/{project_name_or_id}/webhook/policies/{webhook_policy_id}/executions": {"get"},
		"/labels":            {"get", "post"},
		"/labels/{label_id}": {"get", "put", "delete"},
		"/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/labels":            {"post"},
		"/projects/{project_name}/repositories/{repository_name}/artifacts/{reference}/labels/{label_id}": {"delete"},
		"/system/purgeaudit":                {"get"},
		"/system/purgeaudit/schedule":       {"get", "post", "put"},
		"/system/purgeaudit/{purge_id}":     {"get", "put"},
		"/system/purgeaudit/{purge_id}/log": {"get"},
	}
	for path, methods := range want {
		ops, ok := doc.Paths[path]
		if !assert.True(t, ok, "the document lacks %s", path) {
			continue
		}
		for _, m := range methods {
			op, ok := ops[m]
			if assert.True(t, ok, "the document lacks %s %s", m, path) {
				assert.NotEmpty(t, op.OperationID, "%s %s", m, path)
			}
		}
	}
}
