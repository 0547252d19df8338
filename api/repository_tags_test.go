package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

func TestRepositoryTags(t *testing.T) {
	e := newEnv(t)
	e.user("dev", "guest")
	e.project("team", false, "dev=developer")
	v1 := e.push("team/tools/app", "v1")
	v2 := e.push("team/tools/app", "v2")
	require.NoError(t, retag(e, "team/tools/app", "v2", "latest"))
	e.push("team/other", "v9")

	const base = "/projects/team/repositories/tools%252Fapp/tags"
	r := e.do(as("dev"), http.MethodGet, base, nil)
	var tags []api.RepositoryTag
	r.ok(t, http.StatusOK, &tags)
	require.Len(t, tags, 3)
	assert.Equal(t, "3", r.Header.Get("X-Total-Count"))
	assert.Equal(t, []string{"latest", "v1", "v2"}, []string{tags[0].Name, tags[1].Name, tags[2].Name})
	assert.Equal(t, []string{v2, v1, v2}, []string{tags[0].Digest, tags[1].Digest, tags[2].Digest})
	assert.Equal(t, "IMAGE", tags[1].Type)
	assert.Positive(t, tags[1].Size)
	assert.Positive(t, tags[1].ArtifactID)
	assert.Positive(t, tags[1].RepositoryID)
	assert.False(t, tags[1].PushTime.IsZero())

	r = e.do(as("dev"), http.MethodGet, base+"?page=2&page_size=2&sort=-name", nil)
	assert.Equal(t, []string{"latest"}, names(t, r, "name"))
	assert.Equal(t, "3", r.Header.Get("X-Total-Count"))
	assert.Equal(t, []string{"v1", "v2"}, names(t, e.do(as("dev"), http.MethodGet, base+"?q=name%3D~v", nil), "name"))
	assert.Equal(t, []string{"latest", "v1"}, names(t, e.do(as("dev"), http.MethodGet, base+"?q=name%3D%7Bv1+latest%7D", nil), "name"))
	assert.Equal(t, []string{"v1", "v2", "latest"}, names(t, e.do(as("dev"), http.MethodGet, base+"?sort=push_time", nil), "name"))

	e.do(as("dev"), http.MethodGet, base+"?sort=size", nil).fails(t, 400, "BAD_REQUEST")
	e.do(as("dev"), http.MethodGet, base+"?q=digest%3Dx", nil).fails(t, 400, "BAD_REQUEST")
	e.do(as("dev"), http.MethodGet, "/projects/team/repositories/nope/tags", nil).fails(t, 404, "NOT_FOUND")
	e.do(as("guest"), http.MethodGet, base, nil).fails(t, 403, "FORBIDDEN")
	e.do(anonymous, http.MethodGet, base, nil).fails(t, 401, "UNAUTHORIZED")
}
