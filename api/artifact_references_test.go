package api_test

import (
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
)

func TestIndexReferences(t *testing.T) {
	e := newEnv(t)
	e.project("team", true)
	var adds []mutate.IndexAddendum
	for _, pl := range []v1.Platform{{OS: "linux", Architecture: "amd64"}, {OS: "linux", Architecture: "arm64", Variant: "v8"}} {
		img, err := random.Image(64, 1)
		require.NoError(t, err)
		adds = append(adds, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &pl}})
	}
	idx := mutate.AppendManifests(empty.Index, adds...)
	ref, err := name.NewTag(e.host()+"/team/multi:v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(ref, idx, remote.WithContext(t.Context())))
	e.push("team/multi", "plain")

	var arts []api.Artifact
	e.do(anonymous, http.MethodGet, "/projects/team/repositories/multi/artifacts?q=tags%3Dv1", nil).ok(t, http.StatusOK, &arts)
	require.Len(t, arts, 1)
	require.Len(t, arts[0].References, 2)
	assert.Equal(t, arts[0].ID, arts[0].References[0].ParentID)
	assert.Equal(t, "amd64", arts[0].References[0].Platform.Architecture)
	assert.Equal(t, "v8", arts[0].References[1].Platform.Variant)
	var plain api.Artifact
	e.do(anonymous, http.MethodGet, "/projects/team/repositories/multi/artifacts/plain", nil).ok(t, http.StatusOK, &plain)
	assert.Empty(t, plain.References, "an image lists none")
	var one api.Artifact
	e.do(anonymous, http.MethodGet, "/projects/team/repositories/multi/artifacts/v1", nil).ok(t, http.StatusOK, &one)
	assert.Len(t, one.References, 2)
}
