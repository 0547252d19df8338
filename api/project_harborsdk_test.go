package api_test

import (
	"net/http"
	"strconv"
	"testing"

	"github.com/go-openapi/strfmt"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Harbor's own SDK models decode what the member, summary, deletable and
// metadata operations answer, with the numbers where Harbor has them.
func TestProjectGroupDecodesWithHarborSDK(t *testing.T) {
	e := newEnv(t)
	e.user("owner", "dev")
	e.project("team", false, "owner=project-admin", "dev=developer")
	e.push("team/app", "v1")

	var members []*models.ProjectMemberEntity
	e.do(as("owner"), http.MethodGet, "/projects/team/members", nil).ok(t, http.StatusOK, &members)
	require.Len(t, members, 2)
	for _, m := range members {
		require.NoError(t, m.Validate(strfmt.Default))
		assert.NotZero(t, m.ID)
		assert.NotZero(t, m.ProjectID)
	}
	var one models.ProjectMemberEntity
	r := e.do(as("owner"), http.MethodGet, "/projects/team/members/"+strconv.FormatInt(members[0].ID, 10), nil)
	require.NoError(t, one.UnmarshalBinary(r.Body), "%s", r.Body)
	assert.Equal(t, members[0].ID, one.ID)
	assert.Equal(t, int64(2), one.RoleID, "dev is a developer")

	var s models.ProjectSummary
	r = e.do(as("owner"), http.MethodGet, "/projects/team/summary", nil)
	require.NoError(t, s.UnmarshalBinary(r.Body), "%s", r.Body)
	require.NoError(t, s.Validate(strfmt.Default))
	assert.Equal(t, int64(1), s.RepoCount)
	assert.Equal(t, int64(1), s.DeveloperCount)
	require.NotNil(t, s.Quota)
	assert.Equal(t, int64(-1), s.Quota.Hard["storage"])

	var d models.ProjectDeletable
	r = e.do(as("owner"), http.MethodGet, "/projects/team/_deletable", nil)
	require.NoError(t, d.UnmarshalBinary(r.Body), "%s", r.Body)
	assert.False(t, d.Deletable)
	assert.NotEmpty(t, d.Message)

	var p models.Project
	r = e.do(as("owner"), http.MethodGet, "/projects/team", nil)
	require.NoError(t, p.UnmarshalBinary(r.Body), "%s", r.Body)
	require.NotNil(t, p.Metadata)
	require.NotNil(t, p.Metadata.EnableContentTrustCosign)
	assert.Equal(t, "false", *p.Metadata.EnableContentTrustCosign)
}
