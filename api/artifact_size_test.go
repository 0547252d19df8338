package api_test

import (
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

// An artifact's size is Harbor's: the manifest and every blob it
// references, in the listing, the single answer and the tag list alike.
func TestArtifactSizeCountsItsBlobs(t *testing.T) {
	e := newEnv(t)
	e.project("team", false)
	img, err := random.Image(40_000, 3)
	require.NoError(t, err)
	ref, err := name.NewTag(e.host()+"/team/app:v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.Write(ref, img, remote.WithContext(t.Context())))
	raw, err := img.RawManifest()
	require.NoError(t, err)
	m, err := img.Manifest()
	require.NoError(t, err)
	want := int64(len(raw)) + m.Config.Size
	for _, l := range m.Layers {
		want += l.Size
	}
	require.Greater(t, want, int64(120_000))

	var one api.Artifact
	e.do(admin(), http.MethodGet, "/projects/team/repositories/app/artifacts/v1", nil).ok(t, http.StatusOK, &one)
	assert.Equal(t, want, one.Size)
	var list []api.Artifact
	e.do(admin(), http.MethodGet, "/projects/team/repositories/app/artifacts", nil).ok(t, http.StatusOK, &list)
	require.Len(t, list, 1)
	assert.Equal(t, want, list[0].Size)
	var tags []struct {
		Size int64 `json:"size"`
	}
	e.do(admin(), http.MethodGet, "/projects/team/repositories/app/tags", nil).ok(t, http.StatusOK, &tags)
	require.Len(t, tags, 1)
	assert.Equal(t, want, tags[0].Size)
}
