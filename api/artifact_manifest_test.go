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

// GET of one artifact shows its manifest's annotations and, for an
// index, the manifests it lists with their platforms; listings do not.
func TestArtifactAnnotationsAndReferences(t *testing.T) {
	e := newEnv(t)
	e.project("shop", false)
	img, err := random.Image(64, 1)
	require.NoError(t, err)
	img = mutate.Annotations(img, map[string]string{"org.opencontainers.image.source": "https://example.com/src"}).(v1.Image)
	arm := &v1.Platform{OS: "linux", Architecture: "arm64", Variant: "v8"}
	index := mutate.AppendManifests(empty.Index, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: arm}})
	ref, err := name.NewTag(e.host()+"/shop/multi:v1", name.Insecure)
	require.NoError(t, err)
	require.NoError(t, remote.WriteIndex(ref, index, remote.WithContext(t.Context())))
	child, err := img.Digest()
	require.NoError(t, err)

	var got api.Artifact
	e.do(admin(), http.MethodGet, "/projects/shop/repositories/multi/artifacts/v1", nil).ok(t, http.StatusOK, &got)
	require.Len(t, got.References, 1)
	assert.Equal(t, child.String(), got.References[0].ChildDigest)
	assert.NotZero(t, got.References[0].ChildID)
	assert.Equal(t, got.ID, got.References[0].ParentID)
	require.NotNil(t, got.References[0].Platform)
	assert.Equal(t, "arm64", got.References[0].Platform.Architecture)
	assert.Equal(t, "v8", got.References[0].Platform.Variant)

	var one api.Artifact
	e.do(admin(), http.MethodGet, "/projects/shop/repositories/multi/artifacts/"+child.String(), nil).ok(t, http.StatusOK, &one)
	assert.Equal(t, "https://example.com/src", one.Annotations["org.opencontainers.image.source"])
	assert.Nil(t, one.References, "an image lists no children")

	var list []api.Artifact
	e.do(admin(), http.MethodGet, "/projects/shop/repositories/multi/artifacts", nil).ok(t, http.StatusOK, &list)
	for _, a := range list {
		if a.Digest == child.String() {
			assert.Nil(t, a.References, "an image lists no children")
			continue
		}
		// A listing names an index's children, as Harbor's does, but
		// looks none of them up (child_id is the single answer's).
		require.NotEmpty(t, a.References)
		assert.Zero(t, a.References[0].ChildID)
		assert.Empty(t, a.Annotations, "a listing does not read manifests for their annotations")
	}
}
