package registry

import (
	"github.com/berthlabs/berth/core"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestGoAPIListsAndDeletes(t *testing.T) { onEveryEngine(t, testGoAPIListsAndDeletes) }

func testGoAPIListsAndDeletes(t *testing.T) {
	events := newRecordedEvents()
	tr := newTestRegistry(t, WithEventSink(events))
	ctx := t.Context()
	a := tr.pushImage("lib/app", "v1", 1)
	b := tr.pushImage("lib/app", "v2", 1)
	tr.pushManifest("lib/app", "latest", MediaTypeOCIManifest, b.Manifest)
	tr.pushImage("lib/app_x", "v1", 1)
	tr.pushImage("lib/appx", "v1", 1)
	tr.pushImage("other/app", "v1", 1)

	repos, total, err := tr.rg.ListRepositories(ctx, "lib/", core.Page{Limit: 2})
	require.NoError(t, err)
	assert.Equal(t, 3, total)
	require.Len(t, repos, 2, "the page is limited, the total is not")
	assert.Equal(t, "lib/app", repos[0].Name)
	assert.Equal(t, 2, repos[0].Artifacts)
	repos, total, err = tr.rg.ListRepositories(ctx, "lib/app_", core.Page{Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, 1, total, "'_' matches itself, not any character")
	assert.Equal(t, "lib/app_x", repos[0].Name)
	n, err := tr.rg.CountRepositories(ctx, "lib")
	require.NoError(t, err)
	assert.Equal(t, 3, n)

	arts, total, err := tr.rg.ListArtifacts(ctx, "lib/app", core.Page{Limit: 10})
	require.NoError(t, err)
	assert.Equal(t, 2, total)
	byDigest := map[string][]string{}
	for _, x := range arts {
		byDigest[x.Digest.String()] = x.Tags
	}
	assert.Equal(t, []string{"v1"}, byDigest[a.Digest.String()])
	assert.Equal(t, []string{"latest", "v2"}, byDigest[b.Digest.String()])
	_, _, err = tr.rg.ListArtifacts(ctx, "lib/nope", core.Page{Limit: 10})
	assert.ErrorIs(t, err, ErrNotFound)

	got, err := tr.rg.GetArtifact(ctx, "lib/app", "latest")
	require.NoError(t, err)
	assert.Equal(t, b.Digest, got.Digest)
	_, err = tr.rg.GetArtifact(ctx, "lib/app", "nope")
	assert.ErrorIs(t, err, ErrNotFound)

	events.drain()
	require.NoError(t, tr.rg.DeleteTag(ctx, "lib/app", "latest"))
	assert.ErrorIs(t, tr.rg.DeleteTag(ctx, "lib/app", "latest"), ErrNotFound)
	require.NoError(t, tr.rg.DeleteArtifact(ctx, "lib/app", a.Digest))
	tr.requireNoManifest("lib/app", "v1")
	assert.Len(t, events.drain(), 2, "Go API deletes emit events")

	require.NoError(t, tr.rg.DeleteRepository(ctx, "lib/app"))
	tr.requireNoManifest("lib/app", "v2")
	r := tr.do(http.MethodGet, "/v2/lib/app/tags/list", nil, nil)
	requireError(t, r, http.StatusNotFound, CodeNameUnknown)
	assert.ErrorIs(t, tr.rg.DeleteRepository(ctx, "lib/app"), ErrNotFound)
	require.Equal(t, http.StatusOK, tr.getManifest("other/app", "v1").Status, "other repositories untouched")

	rep, err := tr.rg.Check(ctx)
	require.NoError(t, err)
	assert.Empty(t, rep.Problems)
}
