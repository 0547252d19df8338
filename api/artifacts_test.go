package api_test

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

func TestRepositories(t *testing.T) {
	e := newEnv(t)
	e.user("dev", "maint")
	e.project("team", false, "dev=developer", "maint=maintainer")
	e.project("library", true)
	e.push("team/app", "v1")
	e.push("team/app", "v2")
	e.push("team/tools/lint", "v1")
	e.push("library/nginx", "1.25")

	r := e.do(as("dev"), http.MethodGet, "/projects/team/repositories", nil)
	var repos []api.Repository
	r.ok(t, http.StatusOK, &repos)
	require.Len(t, repos, 2)
	assert.Equal(t, "team/app", repos[0].Name)
	assert.Equal(t, 2, repos[0].ArtifactCount)
	assert.Equal(t, int64(1), repos[0].ProjectID)
	assert.Equal(t, "team/tools/lint", repos[1].Name)
	assert.Equal(t, "2", r.Header.Get("X-Total-Count"))

	tests := []struct {
		name string
		who  cred
		path string
		want []string
		code int
	}{
		{"q prefix", as("dev"), "/projects/team/repositories?q=name%3D~to", []string{"team/tools/lint"}, 200},
		{"q prefix with the project", as("dev"), "/projects/team/repositories?q=name%3D~team/a", []string{"team/app"}, 200},
		{"q exact", as("dev"), "/projects/team/repositories?q=name%3Dapp", []string{"team/app"}, 200},
		{"q exact missing", as("dev"), "/projects/team/repositories?q=name%3Dap", []string{}, 200},
		{"anonymous, public", anonymous, "/projects/library/repositories", []string{"library/nginx"}, 200},
		{"anonymous, private", anonymous, "/projects/team/repositories", nil, 401},
		{"unknown project", as("dev"), "/projects/nope/repositories", nil, 404},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.who, http.MethodGet, tt.path, nil)
			if tt.code != 200 {
				assert.Equal(t, tt.code, r.Status)
				return
			}
			assert.Equal(t, tt.want, names(t, r, "name"))
		})
	}

	// Nested names: %2F, and Harbor's double encoding %252F.
	for _, path := range []string{"/projects/team/repositories/tools%2Flint", "/projects/team/repositories/tools%252Flint"} {
		var repo api.Repository
		e.do(as("dev"), http.MethodGet, path, nil).ok(t, http.StatusOK, &repo)
		assert.Equal(t, "team/tools/lint", repo.Name)
	}
	e.do(as("dev"), http.MethodGet, "/projects/team/repositories/nope", nil).fails(t, 404, "NOT_FOUND")
	e.do(as("dev"), http.MethodGet, "/projects/team/repositories/Bad%2F..", nil).fails(t, 400, "BAD_REQUEST")

	e.do(as("dev"), http.MethodDelete, "/projects/team/repositories/tools%252Flint", nil).fails(t, 403, "FORBIDDEN")
	e.do(anonymous, http.MethodDelete, "/projects/library/repositories/nginx", nil).fails(t, 401, "UNAUTHORIZED")
	e.do(as("maint"), http.MethodDelete, "/projects/team/repositories/tools%252Flint", nil).ok(t, http.StatusOK, nil)
	e.do(as("maint"), http.MethodDelete, "/projects/team/repositories/tools%252Flint", nil).fails(t, 404, "NOT_FOUND")
	assert.Equal(t, []string{"team/app"}, names(t, e.do(as("dev"), http.MethodGet, "/projects/team/repositories", nil), "name"))
}

func TestArtifactsAndTags(t *testing.T) {
	e := newEnv(t)
	e.user("dev", "maint")
	e.project("team", false, "dev=developer", "maint=maintainer")
	old := e.push("team/app", "v1")
	d := e.push("team/app", "v2")
	// A second tag on v2's artifact: push the same manifest under "latest".
	require.NoError(t, retag(e, "team/app", "v2", "latest"))

	const base = "/projects/team/repositories/app/artifacts"
	var arts []api.Artifact
	r := e.do(as("dev"), http.MethodGet, base, nil)
	r.ok(t, http.StatusOK, &arts)
	require.Len(t, arts, 2)
	assert.Equal(t, "2", r.Header.Get("X-Total-Count"))
	assert.ElementsMatch(t, []string{old, d}, []string{arts[0].Digest, arts[1].Digest})

	var a api.Artifact
	e.do(as("dev"), http.MethodGet, base+"/v2", nil).ok(t, http.StatusOK, &a)
	assert.Equal(t, d, a.Digest)
	assert.Equal(t, "IMAGE", a.Type)
	assert.Equal(t, "team/app", a.RepositoryName)
	assert.NotEmpty(t, a.ManifestMediaType)
	assert.Positive(t, a.Size)
	assert.False(t, a.PushTime.IsZero())
	require.Len(t, a.Tags, 2)
	assert.Equal(t, []string{"latest", "v2"}, []string{a.Tags[0].Name, a.Tags[1].Name})
	for _, tag := range a.Tags {
		assert.False(t, tag.PushTime.IsZero(), "a tag's push time")
		assert.True(t, tag.PullTime.IsZero(), "never pulled")
	}
	e.do(as("dev"), http.MethodGet, base+"/"+d+"?with_tag=false", nil).ok(t, http.StatusOK, &a)
	assert.Empty(t, a.Tags)
	e.do(as("dev"), http.MethodGet, base+"?with_tag=maybe", nil).fails(t, 400, "BAD_REQUEST")

	r = e.do(as("dev"), http.MethodGet, base+"/"+d+"/tags?page_size=1&page=2", nil)
	assert.Equal(t, []string{"v2"}, names(t, r, "name"))
	assert.Equal(t, "2", r.Header.Get("X-Total-Count"))

	// Tags: maintainers delete them; the artifact stays.
	e.do(as("dev"), http.MethodDelete, base+"/v2/tags/latest", nil).fails(t, 403, "FORBIDDEN")
	e.do(as("maint"), http.MethodDelete, base+"/v1/tags/latest", nil).fails(t, 404, "NOT_FOUND")
	e.do(as("maint"), http.MethodDelete, base+"/"+d+"/tags/latest", nil).ok(t, http.StatusOK, nil)
	e.do(as("dev"), http.MethodGet, base+"/latest", nil).fails(t, 404, "NOT_FOUND")
	e.do(as("dev"), http.MethodGet, base+"/v2", nil).ok(t, http.StatusOK, nil)

	// Artifacts: deleting by tag deletes the artifact and its tags.
	e.do(as("dev"), http.MethodDelete, base+"/v2", nil).fails(t, 403, "FORBIDDEN")
	e.do(as("maint"), http.MethodDelete, base+"/v2", nil).ok(t, http.StatusOK, nil)
	e.do(as("dev"), http.MethodGet, base+"/"+d, nil).fails(t, 404, "NOT_FOUND")
	e.do(as("maint"), http.MethodDelete, base+"/"+d, nil).fails(t, 404, "NOT_FOUND")
	assert.Equal(t, []string{old}, names(t, e.do(as("dev"), http.MethodGet, base, nil), "digest"))

	e.do(as("dev"), http.MethodGet, "/projects/team/repositories/nope/artifacts", nil).fails(t, 404, "NOT_FOUND")
	e.do(anonymous, http.MethodGet, base, nil).fails(t, 401, "UNAUTHORIZED")
}
