package harbor_test

import (
	"net/http"
	"testing"

	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/artifact"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/client/immutable"
	"github.com/goharbor/go-client/pkg/sdk/v2.0/models"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func immutableRule(tags string, disabled bool) *models.ImmutableRule {
	return &models.ImmutableRule{
		Action: "immutable", Template: "immutable_template", Disabled: disabled,
		TagSelectors: []*models.ImmutableSelector{{Kind: "doublestar", Decoration: "matches", Pattern: tags}},
		ScopeSelectors: map[string][]models.ImmutableSelector{"repository": {{Kind: "doublestar", Decoration: "repoMatches",
			Pattern: "**"}}},
	}
}

func TestImmutableTagRules(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	pid := newProject(t, "compat-immutable")
	const project = "compat-immutable"

	created, err := apiClient.Immutable.CreateImmuRule(ctx, immutable.NewCreateImmuRuleParams().
		WithProjectNameOrID(project).WithImmutableRule(immutableRule("v*", false)))
	require.NoError(t, err)
	id := idFromLocation(t, created.Location)

	list, err := apiClient.Immutable.ListImmuRules(ctx, immutable.NewListImmuRulesParams().WithProjectNameOrID(project))
	require.NoError(t, err)
	assert.Equal(t, int64(1), list.XTotalCount)
	require.Len(t, list.Payload, 1)
	r := list.Payload[0]
	assert.Equal(t, id, r.ID)
	assert.Equal(t, "immutable", r.Action)
	assert.Equal(t, "immutable_template", r.Template)
	assert.False(t, r.Disabled)
	require.Len(t, r.TagSelectors, 1)
	assert.Equal(t, "v*", r.TagSelectors[0].Pattern)
	assert.Equal(t, "matches", r.TagSelectors[0].Decoration)
	require.Len(t, r.ScopeSelectors["repository"], 1)
	assert.Equal(t, "**", r.ScopeSelectors["repository"][0].Pattern)

	// The rule holds: v1 cannot move.
	push(t, project, "app", "v1")
	err = pushErr(t, project+"/app:v1")
	var te *transport.Error
	require.ErrorAs(t, err, &te)
	assert.Equal(t, http.StatusPreconditionFailed, te.StatusCode)
	t.Run("with_immutable_status", func(t *testing.T) {
		art, err := apiClient.Artifact.GetArtifact(ctx, artifact.NewGetArtifactParams().WithProjectName(project).
			WithRepositoryName("app").WithReference("v1").WithWithImmutableStatus(ptr(true)))
		require.NoError(t, err)
		require.Len(t, art.Payload.Tags, 1)
		assert.Equal(t, "v1", art.Payload.Tags[0].Name)
		assert.True(t, art.Payload.Tags[0].Immutable)
	})

	// Disabled (by project id this time), it no longer does.
	_, err = apiClient.Immutable.UpdateImmuRule(ctx, immutable.NewUpdateImmuRuleParams().
		WithProjectNameOrID(itoa(pid)).WithXIsResourceName(ptr(false)).WithImmutableRuleID(id).
		WithImmutableRule(immutableRule("v*", true)))
	require.NoError(t, err)
	list, err = apiClient.Immutable.ListImmuRules(ctx, immutable.NewListImmuRulesParams().WithProjectNameOrID(project))
	require.NoError(t, err)
	require.Len(t, list.Payload, 1)
	assert.True(t, list.Payload[0].Disabled)
	require.NoError(t, pushErr(t, project+"/app:v1"))

	// Change its selectors.
	_, err = apiClient.Immutable.UpdateImmuRule(ctx, immutable.NewUpdateImmuRuleParams().
		WithProjectNameOrID(project).WithImmutableRuleID(id).WithImmutableRule(immutableRule("release-*", false)))
	require.NoError(t, err)
	list, err = apiClient.Immutable.ListImmuRules(ctx, immutable.NewListImmuRulesParams().WithProjectNameOrID(project))
	require.NoError(t, err)
	require.Len(t, list.Payload, 1)
	assert.False(t, list.Payload[0].Disabled)
	require.Len(t, list.Payload[0].TagSelectors, 1)
	assert.Equal(t, "release-*", list.Payload[0].TagSelectors[0].Pattern)

	_, err = apiClient.Immutable.DeleteImmuRule(ctx, immutable.NewDeleteImmuRuleParams().
		WithProjectNameOrID(project).WithImmutableRuleID(id))
	require.NoError(t, err)
	list, err = apiClient.Immutable.ListImmuRules(ctx, immutable.NewListImmuRulesParams().WithProjectNameOrID(project))
	require.NoError(t, err)
	assert.Equal(t, int64(0), list.XTotalCount)
	assert.Empty(t, list.Payload)
}

// pushErr pushes a new random image to ref and returns the error.
func pushErr(t *testing.T, ref string) error {
	t.Helper()
	img, err := random.Image(256, 1)
	require.NoError(t, err)
	tag, err := name.NewTag(registryHost+"/"+ref, name.Insecure)
	require.NoError(t, err)
	return remote.Write(tag, img, remoteAuth())
}
