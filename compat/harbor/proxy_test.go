package harbor_test

import (
	"testing"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/project"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/registry"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Proxy cache projects as Harbor's SDK makes them: a Docker Hub registry,
// a project over it with a speed limit, read back with its registry_id;
// the registry types include docker-hub; the registry cannot be deleted
// while the project uses it.
func TestProxyCacheProject(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	types, err := apiClient.Registry.ListRegistryProviderTypes(ctx, registry.NewListRegistryProviderTypesParams())
	require.NoError(t, err)
	assert.Contains(t, types.Payload, "docker-hub")

	created, err := apiClient.Registry.CreateRegistry(ctx, registry.NewCreateRegistryParams().
		WithRegistry(&models.Registry{Name: "compat-hub", Type: "docker-hub", URL: "https://hub.docker.com"}))
	require.NoError(t, err)
	regID := idFromLocation(t, created.Location)
	reg, err := apiClient.Registry.GetRegistry(ctx, registry.NewGetRegistryParams().WithID(regID))
	require.NoError(t, err)
	assert.Equal(t, "docker-hub", reg.Payload.Type)

	_, err = apiClient.Project.CreateProject(ctx, project.NewCreateProjectParams().WithProject(&models.ProjectReq{
		ProjectName: "compat-proxy", RegistryID: &regID, Metadata: &models.ProjectMetadata{ProxySpeedKb: ptr("1024")}}))
	require.NoError(t, err)
	got, err := apiClient.Project.GetProject(ctx, project.NewGetProjectParams().WithProjectNameOrID("compat-proxy"))
	require.NoError(t, err)
	assert.Equal(t, regID, got.Payload.RegistryID)
	require.NotNil(t, got.Payload.Metadata.ProxySpeedKb)
	assert.Equal(t, "1024", *got.Payload.Metadata.ProxySpeedKb)

	_, err = apiClient.Registry.DeleteRegistry(ctx, registry.NewDeleteRegistryParams().WithID(regID))
	require.Error(t, err, "in use by the proxy project")
	assert.True(t, hasStatus(err, 412), "%v", err)
}
