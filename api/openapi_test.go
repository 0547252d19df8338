package api_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// samplePathValues fill the documented path wildcards.
var samplePathValues = map[string]string{
	"project_name_or_id": "library", "project_name": "library", "mid": "dXNlcjphZG1pbg",
	"username": "someone", "robot_name": "robot$library+ci", "repository_name": "team%2Fapp",
	"reference": "v1", "tag_name": "v1", "id": "1", "gc_id": "1", "webhook_policy_id": "1", "execution_id": "1",
	"label_id": "1", "immutable_rule_id": "1", "purge_id": "1", "task_id": "1", "meta_name": "auto_scan",
	"job_type": "all", "pool_id": "all", "job_id": "1", "addition": "build_history", "digest": "sha256:0",
}

func TestOpenAPIDocument(t *testing.T) {
	e := newEnv(t)
	r := e.do(anonymous, http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	var doc struct {
		OpenAPI    string `json:"openapi"`
		Info       map[string]any
		Servers    []map[string]any
		Paths      map[string]map[string]map[string]any
		Components struct {
			Schemas map[string]map[string]any
		}
	}
	require.NoError(t, json.Unmarshal(r.Body, &doc))
	assert.Regexp(t, `^3\.\d+\.\d+$`, doc.OpenAPI)
	assert.Equal(t, "1.2.3", doc.Info["version"])
	assert.NotEmpty(t, doc.Info["title"])
	assert.Equal(t, api.BasePath, doc.Servers[0]["url"])
	for _, s := range []string{"Project", "ProjectReq", "ProjectMetadata", "ProjectMember", "ProjectMemberEntity", "RoleRequest",
		"UserResp", "UserCreationReq", "PasswordReq", "UserSysAdminFlag", "RobotCreate", "RobotCreated", "Robot", "RobotSec",
		"RobotPermission", "Repository", "Artifact", "Tag", "AuditLog", "GeneralInfo", "Errors", "Error"} {
		assert.Contains(t, doc.Components.Schemas, s)
	}
	assert.Contains(t, doc.Components.Schemas["ProjectReq"]["properties"], "project_name")
	assert.Contains(t, doc.Components.Schemas["RobotCreated"]["properties"], "secret")
	assert.NotContains(t, doc.Components.Schemas["Robot"]["properties"], "secret")

	// Every $ref names a schema that exists; operation IDs are unique.
	for _, m := range regexp.MustCompile(`"\$ref":\s*"#/components/schemas/([^"]+)"`).FindAllSubmatch(r.Body, -1) {
		assert.Contains(t, doc.Components.Schemas, string(m[1]))
	}
	ids := map[string]bool{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			id, _ := op["operationId"].(string)
			assert.NotEmpty(t, id, "%s %s", method, path)
			assert.False(t, ids[id], "duplicate operationId %s", id)
			ids[id] = true
			assert.Contains(t, op, "responses")
		}
	}

	// Every registered route is documented, and nothing else is.
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+api.BasePath+path)
		}
	}
	slices.Sort(documented)
	registered := e.api.Patterns()
	slices.Sort(registered)
	assert.Equal(t, registered, documented)

	// Every documented path and method is served: the router matches it to
	// its own pattern, and answering it is not the router's 404 or 405.
	wildcard := regexp.MustCompile(`\{([a-z_]+)\}`)
	for _, op := range documented {
		method, pattern, _ := strings.Cut(op, " ")
		t.Run(op, func(t *testing.T) {
			path := wildcard.ReplaceAllStringFunc(pattern, func(w string) string {
				v, ok := samplePathValues[w[1:len(w)-1]]
				require.True(t, ok, "no sample value for %s", w)
				return v
			})
			req := httptest.NewRequest(method, path, nil)
			assert.Equal(t, op, e.api.Matched(req))
			r := e.do(anonymous, method, strings.TrimPrefix(path, api.BasePath), nil)
			assert.NotEqual(t, http.StatusMethodNotAllowed, r.Status)
			assert.NotContains(t, string(r.Body), "no such API endpoint")
		})
	}

	// And what is not documented is not served.
	for _, op := range []string{"GET /api/v2.0/projects/library/no-such-thing", "POST /api/v2.0/ping", "GET /api/v2.0/users/"} {
		method, path, _ := strings.Cut(op, " ")
		assert.Empty(t, e.api.Matched(httptest.NewRequest(method, path, nil)), op)
	}
}

// TestOpenAPIDocumentValidates checks the document against the OpenAPI 3.0
// specification with openapi-spec-validator, where it is installed.
func TestOpenAPIDocumentValidates(t *testing.T) {
	e := newEnv(t)
	r := e.do(anonymous, http.MethodGet, "/openapi.json", nil)
	require.Equal(t, http.StatusOK, r.Status)
	validateOpenAPI(t, r.Body)
}
