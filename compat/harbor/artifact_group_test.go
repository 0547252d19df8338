package harbor_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/artifact"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/icon"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/immutable"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/repository"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/google/go-containerregistry/pkg/name"
	ggcr "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/static"
	"github.com/google/go-containerregistry/pkg/v1/types"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rawManifest is a manifest remote.Put writes as is.
type rawManifest struct {
	body      []byte
	mediaType types.MediaType
}

func (m rawManifest) RawManifest() ([]byte, error)        { return m.body, nil }
func (m rawManifest) MediaType() (types.MediaType, error) { return m.mediaType, nil }

// pushChart writes a Helm chart as an OCI artifact to project/repo:tag.
func pushChart(t *testing.T, project, repo, tag string, files map[string]string) {
	t.Helper()
	var buf bytes.Buffer
	gz := gzip.NewWriter(&buf)
	tw := tar.NewWriter(gz)
	for n, body := range files {
		require.NoError(t, tw.WriteHeader(&tar.Header{Name: "demo/" + n, Mode: 0o644, Size: int64(len(body)), Typeflag: tar.TypeReg}))
		_, err := tw.Write([]byte(body))
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	require.NoError(t, gz.Close())
	cfg := static.NewLayer([]byte(`{"name":"demo","version":"1.0.0","apiVersion":"v2"}`), "application/vnd.cncf.helm.config.v1+json")
	content := static.NewLayer(buf.Bytes(), "application/vnd.cncf.helm.chart.content.v1.tar+gzip")
	repoRef, err := name.NewRepository(registryHost+"/"+project+"/"+repo, name.Insecure)
	require.NoError(t, err)
	desc := func(l ggcr.Layer) map[string]any {
		d, err := l.Digest()
		require.NoError(t, err)
		size, err := l.Size()
		require.NoError(t, err)
		mt, err := l.MediaType()
		require.NoError(t, err)
		require.NoError(t, remote.WriteLayer(repoRef, l, remoteAuth()))
		return map[string]any{"mediaType": mt, "digest": d.String(), "size": size}
	}
	body, err := json.Marshal(map[string]any{"schemaVersion": 2, "mediaType": types.OCIManifestSchema1,
		"config": desc(cfg), "layers": []any{desc(content)}})
	require.NoError(t, err)
	require.NoError(t, remote.Put(repoRef.Tag(tag), rawManifest{body, types.OCIManifestSchema1}, remoteAuth()))
}

// The repository and artifact operations beyond listing: every
// repository, descriptions, tags, copies, accessories, additions, a
// project's artifacts and icons.
func TestArtifactGroup(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const proj = "compat-group"
	newProject(t, proj)
	img := push(t, proj, "app", "v1")
	want := digestOf(t, img)

	// listAllRepositories and updateRepository.
	_, err := apiClient.Repository.UpdateRepository(ctx, repository.NewUpdateRepositoryParams().WithProjectName(proj).
		WithRepositoryName("app").WithRepository(&models.Repository{Description: "the app"}))
	require.NoError(t, err)
	all, err := apiClient.Repository.ListAllRepositories(ctx, repository.NewListAllRepositoriesParams().
		WithQ(ptr("name="+proj+"/app")))
	require.NoError(t, err)
	require.Len(t, all.Payload, 1)
	assert.Equal(t, int64(1), all.XTotalCount)
	assert.Equal(t, "the app", all.Payload[0].Description)
	assert.Positive(t, all.Payload[0].ID)
	assert.Positive(t, all.Payload[0].ProjectID)
	sorted, err := apiClient.Repository.ListAllRepositories(ctx, repository.NewListAllRepositoriesParams().
		WithSort(ptr("-creation_time")).WithPageSize(ptr(int64(100))))
	require.NoError(t, err)
	assert.NotEmpty(t, sorted.Payload)

	// createTag, and its conflict.
	_, err = apiClient.Artifact.CreateTag(ctx, artifact.NewCreateTagParams().WithProjectName(proj).WithRepositoryName("app").
		WithReference(want).WithTag(&models.Tag{Name: "v2"}))
	require.NoError(t, err)
	_, err = apiClient.Artifact.CreateTag(ctx, artifact.NewCreateTagParams().WithProjectName(proj).WithRepositoryName("app").
		WithReference(want).WithTag(&models.Tag{Name: "v2"}))
	assert.True(t, hasStatus(err, http.StatusConflict), "%v", err)
	tags, err := apiClient.Artifact.ListTags(ctx, artifact.NewListTagsParams().WithProjectName(proj).
		WithRepositoryName("app").WithReference(want))
	require.NoError(t, err)
	assert.Len(t, tags.Payload, 2)

	// CopyArtifact, by tag and by digest.
	_, err = apiClient.Artifact.CopyArtifact(ctx, artifact.NewCopyArtifactParams().WithProjectName(proj).
		WithRepositoryName("copy").WithFrom(proj+"/app:v1"))
	require.NoError(t, err)
	got, err := apiClient.Artifact.GetArtifact(ctx, artifact.NewGetArtifactParams().WithProjectName(proj).
		WithRepositoryName("copy").WithReference("v1"))
	require.NoError(t, err)
	assert.Equal(t, want, got.Payload.Digest)
	_, err = apiClient.Artifact.CopyArtifact(ctx, artifact.NewCopyArtifactParams().WithProjectName(proj).
		WithRepositoryName("copy").WithFrom(proj+"/app:nope"))
	assert.True(t, hasStatus(err, http.StatusNotFound), "%v", err)

	// A copy does not move an immutable tag: the push gate decides it.
	_, err = apiClient.Immutable.CreateImmuRule(ctx, immutable.NewCreateImmuRuleParams().
		WithProjectNameOrID(proj).WithImmutableRule(immutableRule("v*", false)))
	require.NoError(t, err)
	push(t, proj, "other", "v9")
	_, err = apiClient.Artifact.CopyArtifact(ctx, artifact.NewCopyArtifactParams().WithProjectName(proj).
		WithRepositoryName("app").WithFrom(proj+"/other:v9"))
	require.NoError(t, err, "a new tag is not a move")
	push(t, proj, "other", "v1")
	_, err = apiClient.Artifact.CopyArtifact(ctx, artifact.NewCopyArtifactParams().WithProjectName(proj).
		WithRepositoryName("app").WithFrom(proj+"/other:v1"))
	assert.True(t, hasStatus(err, http.StatusPreconditionFailed), "%v", err)

	// listAccessories: a cosign signature in cosign's tag scheme.
	sigTag := strings.Replace(want, ":", "-", 1) + ".sig"
	push(t, proj, "app", sigTag)
	accs, err := apiClient.Artifact.ListAccessories(ctx, artifact.NewListAccessoriesParams().WithProjectName(proj).
		WithRepositoryName("app").WithReference("v1"))
	require.NoError(t, err)
	require.Len(t, accs.Payload, 1)
	acc := accs.Payload[0]
	assert.Equal(t, "signature.cosign", acc.Type)
	assert.Equal(t, want, acc.SubjectArtifactDigest)
	assert.Equal(t, proj+"/app", acc.SubjectArtifactRepo)
	assert.Positive(t, acc.ArtifactID)
	assert.Equal(t, got.Payload.ID != 0, acc.SubjectArtifactID != 0)

	// getIcon: the icon an accessory names.
	ic, err := apiClient.Icon.GetIcon(ctx, icon.NewGetIconParams().WithDigest(acc.Icon))
	require.NoError(t, err)
	assert.Equal(t, "image/svg+xml", ic.Payload.ContentType)
	svg, err := base64.StdEncoding.DecodeString(ic.Payload.Content)
	require.NoError(t, err)
	assert.Contains(t, string(svg), "<svg")
	_, err = apiClient.Icon.GetIcon(ctx, icon.NewGetIconParams().WithDigest("sha256:"+strings.Repeat("0", 64)))
	assert.True(t, hasStatus(err, http.StatusNotFound), "%v", err)

	// getAddition: a chart's values.yaml and README (text answers).
	pushChart(t, proj, "demo", "1.0.0", map[string]string{
		"Chart.yaml": "apiVersion: v2\nname: demo\nversion: 1.0.0\n", "values.yaml": "replicas: 2\n", "README.md": "# Demo\n"})
	values, err := apiClient.Artifact.GetAddition(ctx, artifact.NewGetAdditionParams().WithProjectName(proj).
		WithRepositoryName("demo").WithReference("1.0.0").WithAddition("values.yaml"))
	require.NoError(t, err)
	assert.Equal(t, "replicas: 2\n", values.Payload)
	readme, err := apiClient.Artifact.GetAddition(ctx, artifact.NewGetAdditionParams().WithProjectName(proj).
		WithRepositoryName("demo").WithReference("1.0.0").WithAddition("readme.md"))
	require.NoError(t, err)
	assert.Equal(t, "# Demo\n", readme.Payload)

	// listArtifactsOfProject.
	arts, err := apiClient.Project.ListArtifactsOfProject(ctx, project.NewListArtifactsOfProjectParams().
		WithProjectNameOrID(proj).WithPageSize(ptr(int64(100))))
	require.NoError(t, err)
	assert.Equal(t, int64(len(arts.Payload)), arts.XTotalCount)
	repos := map[string]bool{}
	for _, a := range arts.Payload {
		repos[a.RepositoryName] = true
		assert.Positive(t, a.ID)
	}
	for _, r := range []string{"app", "copy", "other", "demo"} {
		assert.True(t, repos[proj+"/"+r], r)
	}
}
