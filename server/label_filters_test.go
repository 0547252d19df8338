package server

import (
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/label"
	"github.com/berthlabs/berth/project"
	"github.com/berthlabs/berth/replicate"
	"github.com/berthlabs/berth/retention"
	"github.com/berthlabs/berth/sqldb"
)

var (
	_ retention.ArtifactLabels = retentionLabels{}
	_ replicate.SourceLabels   = replicationLabels{}
)

// The adapters read the label store: retention by project id, a page of
// digests at once; replication by repository name, its project resolved
// by name now, so a re-created project does not inherit labels.
func TestLabelFilterAdapters(t *testing.T) {
	ctx := t.Context()
	db, err := sqldb.OpenSQLiteMemory(ctx)
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	projects, err := project.NewStore(ctx, db)
	require.NoError(t, err)
	labels, err := label.New(ctx, db)
	require.NoError(t, err)
	shop, err := projects.Create(ctx, project.Project{Name: "shop"})
	require.NoError(t, err)
	prod, err := labels.Create(ctx, label.Label{Name: "prod", Scope: label.ScopeProject, ProjectID: shop.ID})
	require.NoError(t, err)
	keep, err := labels.Create(ctx, label.Label{Name: "keep", Scope: label.ScopeGlobal})
	require.NoError(t, err)
	d1, d2, d3 := digest.FromString("1"), digest.FromString("2"), digest.FromString("3")
	for _, at := range []struct {
		d  digest.Digest
		id int64
	}{{d1, prod.ID}, {d1, keep.ID}, {d2, keep.ID}} {
		require.NoError(t, labels.Attach(ctx, label.Artifact{ProjectID: shop.ID, Repository: "shop/app", Digest: at.d}, at.id))
	}

	ret := retentionLabels{labels}
	got, err := ret.LabelNames(ctx, shop.ID, "shop/app", []digest.Digest{d1, d2, d3})
	require.NoError(t, err)
	assert.Equal(t, map[digest.Digest][]string{d1: {"prod", "keep"}, d2: {"keep"}}, got)
	got, err = ret.LabelNames(ctx, shop.ID+1, "shop/app", []digest.Digest{d1})
	require.NoError(t, err)
	assert.Empty(t, got, "keyed by project id")

	rep := replicationLabels{s: labels, projects: projects}
	names, err := rep.LabelNames(ctx, "shop/app", d1)
	require.NoError(t, err)
	assert.Equal(t, []string{"prod", "keep"}, names)
	names, err = rep.LabelNames(ctx, "shop/app", d3)
	require.NoError(t, err)
	assert.Empty(t, names)
	for _, repo := range []string{"nowhere/app", "app", "/app"} {
		names, err = rep.LabelNames(ctx, repo, d1)
		require.NoError(t, err, repo)
		assert.Empty(t, names, repo)
	}

	// Deleted and created again under the same name: a new id, no labels.
	require.NoError(t, projects.Delete(ctx, "shop"))
	_, err = projects.Create(ctx, project.Project{Name: "shop"})
	require.NoError(t, err)
	names, err = rep.LabelNames(ctx, "shop/app", d1)
	require.NoError(t, err)
	assert.Empty(t, names)
}
