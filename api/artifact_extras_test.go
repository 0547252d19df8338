package api_test

import (
	"net/http"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/api"
	"github.com/berthlabs/berth/immutable"
	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/sqldb"
	"github.com/berthlabs/berth/tagselect"
)

// with_label shows an artifact's labels and with_immutable_status marks
// the tags a rule of the project holds; neither is shown unasked.
func TestArtifactLabelsAndImmutableStatus(t *testing.T) {
	db, err := sqldb.OpenSQLiteMemory(t.Context())
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	labels, err := label.New(t.Context(), db)
	require.NoError(t, err)
	rules, err := immutable.NewStore(t.Context(), db)
	require.NoError(t, err)
	e := newEnv(t, api.WithLabels(labels), api.WithImmutable(rules))
	e.user("dev")
	e.project("shop", false, "dev=developer")
	shop, err := e.projects.Get(t.Context(), "shop")
	require.NoError(t, err)
	e.push("shop/api", "v1")
	src, err := name.NewTag(e.host()+"/shop/api:v1", name.Insecure)
	require.NoError(t, err)
	desc, err := remote.Get(src, remote.WithContext(t.Context()))
	require.NoError(t, err)
	require.NoError(t, remote.Tag(src.Context().Tag("latest"), desc, remote.WithContext(t.Context())))
	prod, err := labels.Create(t.Context(), label.Label{Name: "prod", Scope: label.ScopeGlobal, Color: "#00ff00"})
	require.NoError(t, err)
	e.do(as("dev"), http.MethodPost, "/projects/shop/repositories/api/artifacts/v1/labels", map[string]any{"id": prod.ID}).
		ok(t, http.StatusOK, nil)
	_, err = rules.Create(t.Context(), immutable.ProjectRule{ProjectID: shop.ID, Rule: immutable.Rule{
		ScopeSelectors: []tagselect.Selector{{Decoration: tagselect.RepoMatches, Pattern: "**"}},
		TagSelectors:   []tagselect.Selector{{Decoration: tagselect.Matches, Pattern: "v*"}}}})
	require.NoError(t, err)

	var plain api.Artifact
	e.do(as("dev"), http.MethodGet, "/projects/shop/repositories/api/artifacts/v1", nil).ok(t, http.StatusOK, &plain)
	assert.Empty(t, plain.Labels)
	for _, tg := range plain.Tags {
		assert.False(t, tg.Immutable, "not asked for")
	}

	var list []api.Artifact
	e.do(as("dev"), http.MethodGet, "/projects/shop/repositories/api/artifacts?with_label=true&with_immutable_status=true", nil).
		ok(t, http.StatusOK, &list)
	require.Len(t, list, 1)
	require.Len(t, list[0].Labels, 1)
	assert.Equal(t, "prod", list[0].Labels[0].Name)
	assert.Equal(t, "#00ff00", list[0].Labels[0].Color)
	immutableTags := map[string]bool{}
	for _, tg := range list[0].Tags {
		immutableTags[tg.Name] = tg.Immutable
	}
	assert.Equal(t, map[string]bool{"v1": true, "latest": false}, immutableTags)

	e.do(as("dev"), http.MethodGet, "/projects/shop/repositories/api/artifacts/v1?with_label=maybe", nil).
		fails(t, http.StatusBadRequest, "BAD_REQUEST")
}
