package registry

import (
	"context"
	"net/http"
	"slices"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type deleteGateFunc func(repo string, d digest.Digest, tags []string) error

func (f deleteGateFunc) CheckDelete(_ context.Context, repo string, d digest.Digest, tags []string) error {
	return f(repo, d, tags)
}

func TestDeleteGate(t *testing.T) { onEngines(t, testDeleteGate) }

func testDeleteGate(t *testing.T) {
	var asked [][]string
	gate := deleteGateFunc(func(repo string, d digest.Digest, tags []string) error {
		asked = append(asked, tags)
		if slices.Contains(tags, "release") {
			return Denied("the tag release is protected")
		}
		return nil
	})
	tr := newTestRegistry(t, WithDeleteGate(gate))
	rel := tr.pushImage("lib/app", "release", 1)
	tr.pushManifest("lib/app", "latest", "application/vnd.oci.image.manifest.v1+json", rel.Manifest)
	other := tr.pushImage("lib/app", "scratch", 1)

	requireError(t, tr.do(http.MethodDelete, "/v2/lib/app/manifests/release", nil, nil), http.StatusPreconditionFailed, CodeDenied)
	requireError(t, tr.do(http.MethodDelete, "/v2/lib/app/manifests/"+rel.Digest.String(), nil, nil), http.StatusPreconditionFailed, CodeDenied)
	assert.Equal(t, []string{"latest", "release"}, asked[1], "a manifest's deletion names the tags it takes along")
	require.Equal(t, http.StatusAccepted, tr.do(http.MethodDelete, "/v2/lib/app/manifests/latest", nil, nil).Status)
	require.Error(t, tr.rg.DeleteArtifact(t.Context(), "lib/app", rel.Digest))
	require.Error(t, tr.rg.DeleteTag(t.Context(), "lib/app", "release"))
	require.Error(t, tr.rg.DeleteRepository(t.Context(), "lib/app"))
	require.NoError(t, tr.rg.DeleteArtifact(t.Context(), "lib/app", other.Digest))
	require.Equal(t, http.StatusOK, tr.getManifest("lib/app", "release").Status, "nothing protected went")
}
