package harbor_test

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/go-openapi/runtime"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The coverage tests' own machinery: how paths compare, how a call's
// error is named, how the golden lists read and write.

func TestOpKey(t *testing.T) {
	assert.Equal(t, opKey("get", "/users/{user_id}"), opKey("GET", "/users/{username}"))
	assert.Equal(t, opKey("post", "/projects/{p}/metadatas/"), opKey("POST", "/projects/{project_name_or_id}/metadatas"))
	assert.NotEqual(t, opKey("get", "/users/{user_id}"), opKey("get", "/users/current"))
	assert.NotEqual(t, opKey("get", "/users/{user_id}"), opKey("put", "/users/{user_id}"))
	assert.Equal(t, "GET /", opKey("get", "/"))
}

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err    error
		result string
	}{
		{nil, "ok"},
		{setupError{errors.New("no project")}, "set-up"},
		{checkf("no id"), "check"},
		{runtime.NewAPIError("unknown status", nil, 412), "HTTP 412"},
		{&project.GetProjectUnauthorized{Payload: &models.Errors{Errors: []*models.Error{{Code: "UNAUTHORIZED", Message: "who"}}}},
			"HTTP 401"},
		{json.Unmarshal([]byte(`{"id":"x"}`), &models.ProjectMemberEntity{}), "decode"},
	} {
		result, note := classify(tc.err)
		assert.Equal(t, tc.result, result, "%v", tc.err)
		if tc.err != nil {
			assert.NotEmpty(t, note)
		}
	}
	_, note := classify(&project.GetProjectUnauthorized{Payload: &models.Errors{Errors: []*models.Error{{Code: "UNAUTHORIZED", Message: "who"}}}})
	assert.Equal(t, "UNAUTHORIZED: who", note, "the error payload, not a pointer")
	_, note = classify(setup("createProject", &project.CreateProjectConflict{Payload: &models.Errors{
		Errors: []*models.Error{{Code: "CONFLICT", Message: "taken"}}}}))
	assert.Equal(t, "set-up: createProject: HTTP 409: CONFLICT: taken", note)
}

func TestReasonsRoundTrip(t *testing.T) {
	file := filepath.Join(t.TempDir(), "list.txt")
	assert.Empty(t, readReasons(t, file), "a missing list is empty")
	ops := []harborOp{{ID: "b", Tag: "y"}, {ID: "a", Tag: "y"}, {ID: "c", Tag: "x"}}
	writeReasons(t, file, "# header", ops, map[string]string{"a": "kept"},
		func(o harborOp) string {
			if o.ID == "c" {
				return "from the run"
			}
			return ""
		})
	raw, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, "# header\n\n# x\nc\tfrom the run\n\n# y\na\tkept\nb\tUNEXPLAINED\n", string(raw))
	assert.Equal(t, map[string]string{"a": "kept", "b": unexplainedReason, "c": "from the run"}, readReasons(t, file))
}
