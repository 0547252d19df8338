package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

type extInner struct {
	Name    string `json:"name"`
	Version string `json:"version"`
}

type extVersion struct {
	*extInner
	Digest string `json:"digest"`
	Name   string `json:"name" doc:"the outer field wins"`
}

type extError struct {
	Error string `json:"error"`
}

// Operations served by other handlers are documented from the server's
// root, with their own bodies and error shape, and are not served by the
// API.
func TestExternalRoutesDocumented(t *testing.T) {
	e := newEnv(t, api.WithExternalRoutes(
		api.ExternalRoute{Method: http.MethodPost, Path: "/api/chartrepo/{repo}/charts", ID: "uploadChartVersion", Tag: "chartrepo",
			Summary: "Upload", Params: []api.ExternalParam{{Name: "repo", In: "path", Description: "Project name"},
				{Name: "force", Type: "boolean", Description: "Replace"}},
			BodyType: "multipart/form-data", BodyFiles: []string{"chart", "prov"}, Resp: extVersion{}, Status: http.StatusCreated,
			Error: extError{}},
		api.ExternalRoute{Method: http.MethodGet, Path: "/chartrepo/{repo}/index.yaml", ID: "getChartRepoIndex", Tag: "chartrepo",
			RespType: "application/x-yaml"}))
	r := e.do(anonymous, http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	var doc struct {
		Paths      map[string]map[string]map[string]any
		Components struct{ Schemas map[string]map[string]any }
	}
	require.NoError(t, json.Unmarshal(r.Body, &doc))

	up := doc.Paths["/api/chartrepo/{repo}/charts"]["post"]
	require.NotNil(t, up)
	assert.Equal(t, "uploadChartVersion", up["operationId"])
	assert.Equal(t, []any{map[string]any{"url": "/"}}, up["servers"])
	assert.Equal(t, []any{
		map[string]any{"name": "repo", "in": "path", "required": true, "description": "Project name", "schema": map[string]any{"type": "string"}},
		map[string]any{"name": "force", "in": "query", "required": false, "description": "Replace", "schema": map[string]any{"type": "boolean"}},
	}, up["parameters"])
	body := up["requestBody"].(map[string]any)["content"].(map[string]any)["multipart/form-data"].(map[string]any)["schema"].(map[string]any)
	assert.Equal(t, map[string]any{"type": "string", "format": "binary"}, body["properties"].(map[string]any)["prov"])
	ok := up["responses"].(map[string]any)["201"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
	assert.Equal(t, map[string]any{"$ref": "#/components/schemas/extVersion"}, ok)
	props := doc.Components.Schemas["extVersion"]["properties"].(map[string]any)
	assert.Contains(t, props, "version", "embedded fields are flattened, as encoding/json does")
	assert.NotContains(t, props, "extInner")
	assert.Equal(t, "the outer field wins", props["name"].(map[string]any)["description"])
	errSchema := up["responses"].(map[string]any)["default"].(map[string]any)["content"].(map[string]any)["application/json"].(map[string]any)["schema"]
	assert.Equal(t, map[string]any{"$ref": "#/components/schemas/extError"}, errSchema)

	idx := doc.Paths["/chartrepo/{repo}/index.yaml"]["get"]
	require.NotNil(t, idx)
	assert.Contains(t, idx["responses"].(map[string]any)["200"].(map[string]any)["content"], "application/x-yaml")

	assert.Empty(t, e.api.Matched(httptest.NewRequest(http.MethodPost, "/api/chartrepo/library/charts", nil)), "documented, not served")
	validateOpenAPI(t, r.Body)
}
