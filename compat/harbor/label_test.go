package harbor_test

import (
	"testing"
	"time"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/artifact"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/label"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLabels(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	const project = "compat-labels"
	pid := newProject(t, project)
	img := push(t, project, "app", "v1")

	created, err := apiClient.Label.CreateLabel(ctx, label.NewCreateLabelParams().WithLabel(&models.Label{
		Name: "compat-global", Description: "a global label", Color: "#FF0000", Scope: "g"}))
	require.NoError(t, err)
	gid := idFromLocation(t, created.Location)

	got, err := apiClient.Label.GetLabelByID(ctx, label.NewGetLabelByIDParams().WithLabelID(gid))
	require.NoError(t, err)
	l := got.Payload
	assert.Equal(t, gid, l.ID)
	assert.Equal(t, "compat-global", l.Name)
	assert.Equal(t, "a global label", l.Description)
	assert.Equal(t, "#FF0000", l.Color)
	assert.Equal(t, "g", l.Scope)
	assert.Zero(t, l.ProjectID)
	assert.WithinDuration(t, time.Now(), time.Time(l.CreationTime), time.Minute)

	created, err = apiClient.Label.CreateLabel(ctx, label.NewCreateLabelParams().WithLabel(&models.Label{
		Name: "compat-project", Color: "#00FF00", Scope: "p", ProjectID: pid}))
	require.NoError(t, err)
	plid := idFromLocation(t, created.Location)

	globals, err := apiClient.Label.ListLabels(ctx, label.NewListLabelsParams().WithScope(ptr("g")).
		WithName(ptr("compat-global")))
	require.NoError(t, err)
	assert.Equal(t, int64(1), globals.XTotalCount)
	require.Len(t, globals.Payload, 1)
	assert.Equal(t, gid, globals.Payload[0].ID)

	projects, err := apiClient.Label.ListLabels(ctx, label.NewListLabelsParams().WithScope(ptr("p")).WithProjectID(&pid))
	require.NoError(t, err)
	assert.Equal(t, int64(1), projects.XTotalCount)
	require.Len(t, projects.Payload, 1)
	assert.Equal(t, plid, projects.Payload[0].ID)
	assert.Equal(t, "compat-project", projects.Payload[0].Name)
	assert.Equal(t, pid, projects.Payload[0].ProjectID)

	l.Description, l.Color = "still global", "#0000FF"
	_, err = apiClient.Label.UpdateLabel(ctx, label.NewUpdateLabelParams().WithLabelID(gid).WithLabel(l))
	require.NoError(t, err)
	got, err = apiClient.Label.GetLabelByID(ctx, label.NewGetLabelByIDParams().WithLabelID(gid))
	require.NoError(t, err)
	assert.Equal(t, "still global", got.Payload.Description)
	assert.Equal(t, "#0000FF", got.Payload.Color)
	assert.Equal(t, "compat-global", got.Payload.Name)

	// On an artifact: both labels, by tag and by digest.
	_, err = apiClient.Artifact.AddLabel(ctx, artifact.NewAddLabelParams().WithProjectName(project).
		WithRepositoryName("app").WithReference("v1").WithLabel(&models.Label{ID: gid}))
	require.NoError(t, err)
	_, err = apiClient.Artifact.AddLabel(ctx, artifact.NewAddLabelParams().WithProjectName(project).
		WithRepositoryName("app").WithReference(digestOf(t, img)).WithLabel(&models.Label{ID: plid}))
	require.NoError(t, err)

	art, err := apiClient.Artifact.GetArtifact(ctx, artifact.NewGetArtifactParams().WithProjectName(project).
		WithRepositoryName("app").WithReference("v1").WithWithLabel(ptr(true)))
	require.NoError(t, err)
	ids := map[int64]string{}
	for _, l := range art.Payload.Labels {
		ids[l.ID] = l.Name
	}
	assert.Equal(t, map[int64]string{gid: "compat-global", plid: "compat-project"}, ids)

	list, err := apiClient.Artifact.ListArtifacts(ctx, artifact.NewListArtifactsParams().WithProjectName(project).
		WithRepositoryName("app").WithWithLabel(ptr(true)))
	require.NoError(t, err)
	require.Len(t, list.Payload, 1)
	assert.Len(t, list.Payload[0].Labels, 2)

	_, err = apiClient.Artifact.RemoveLabel(ctx, artifact.NewRemoveLabelParams().WithProjectName(project).
		WithRepositoryName("app").WithReference("v1").WithLabelID(gid))
	require.NoError(t, err)
	art, err = apiClient.Artifact.GetArtifact(ctx, artifact.NewGetArtifactParams().WithProjectName(project).
		WithRepositoryName("app").WithReference("v1").WithWithLabel(ptr(true)))
	require.NoError(t, err)
	require.Len(t, art.Payload.Labels, 1)
	assert.Equal(t, plid, art.Payload.Labels[0].ID)

	_, err = apiClient.Label.DeleteLabel(ctx, label.NewDeleteLabelParams().WithLabelID(gid))
	require.NoError(t, err)
	_, err = apiClient.Label.GetLabelByID(ctx, label.NewGetLabelByIDParams().WithLabelID(gid))
	var nf *label.GetLabelByIDNotFound
	assert.ErrorAs(t, err, &nf)
}
