package registry

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
	"github.com/berthlabs/berth/sqldb"
)

func TestFindTags(t *testing.T) { onEngines(t, testFindTags) }

func testFindTags(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := t.Context()
	one := tr.pushImage("p/team/app", "v1", 1)
	tr.advance(time.Minute)
	two := tr.pushImage("p/team/app", "v2", 2)
	tr.advance(time.Minute)
	require.NoError(t, tr.rg.TagArtifact(ctx, "p/team/app", one.Digest, "latest"))
	tr.pushImage("p/other", "v1", 1)

	names := func(q TagQuery, pg core.Page) ([]string, int) {
		t.Helper()
		q.Repo = "p/team/app"
		tags, total, err := tr.rg.FindTags(ctx, q, pg)
		require.NoError(t, err)
		var out []string
		for _, tg := range tags {
			out = append(out, tg.Name)
		}
		return out, total
	}
	got, total := names(TagQuery{}, core.Page{Limit: 10})
	assert.Equal(t, []string{"latest", "v1", "v2"}, got)
	assert.Equal(t, 3, total)
	got, total = names(TagQuery{}, core.Page{Offset: 1, Limit: 1})
	assert.Equal(t, []string{"v1"}, got, "a page of the listing")
	assert.Equal(t, 3, total, "the total of every page")
	got, _ = names(TagQuery{Order: TagByPushTime, Desc: true}, core.Page{Limit: 10})
	assert.Equal(t, []string{"latest", "v2", "v1"}, got)
	got, total = names(TagQuery{NameContains: "v"}, core.Page{Limit: 10})
	assert.Equal(t, []string{"v1", "v2"}, got)
	assert.Equal(t, 2, total)
	got, _ = names(TagQuery{Names: []string{"v2", "nope"}}, core.Page{Limit: 10})
	assert.Equal(t, []string{"v2"}, got)
	got, total = names(TagQuery{Names: []string{}}, core.Page{Limit: 10})
	assert.Empty(t, got)
	assert.Zero(t, total)

	tags, _, err := tr.rg.FindTags(ctx, TagQuery{Repo: "p/team/app", Names: []string{"v2"}}, core.Page{Limit: 1})
	require.NoError(t, err)
	require.Len(t, tags, 1)
	art, err := tr.rg.GetArtifact(ctx, "p/team/app", "v2")
	require.NoError(t, err)
	assert.Equal(t, two.Digest, tags[0].Digest)
	assert.Equal(t, art.TotalSize, tags[0].Size, "a tag shows its artifact's size, blobs counted")
	assert.Equal(t, art.ID, tags[0].ArtifactID)
	assert.Equal(t, art.RepositoryID, tags[0].RepositoryID)
	assert.Equal(t, art.TagTimes[0].ID, tags[0].ID)
	assert.NotZero(t, tags[0].PushedAt)

	_, _, err = tr.rg.FindTags(ctx, TagQuery{Repo: "p/nope"}, core.Page{Limit: 1})
	assert.True(t, errors.Is(err, ErrNotFound), "%v", err)
}

// A page of a repository of 5,000 tags is one query, not a walk.
func TestFindTagsMany(t *testing.T) { onEngines(t, testFindTagsMany) }

func testFindTagsMany(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := t.Context()
	img := tr.pushImage("p/big", "t0000", 1)
	require.NoError(t, tr.rg.db.Write(ctx, func(tx *sqldb.Tx) error {
		for i := 1; i < 5000; i++ {
			if _, err := tx.Exec(ctx, `INSERT INTO registry_tags (repo, name, digest, updated_at) VALUES (?, ?, ?, ?)`,
				"p/big", fmt.Sprintf("t%04d", i), img.Digest.String(), int64(i)); err != nil {
				return err
			}
		}
		return nil
	}))
	// Its speed is measured by ui/browsertest's BenchmarkPortalAtScale,
	// not timed here.
	tags, total, err := tr.rg.FindTags(ctx, TagQuery{Repo: "p/big", Order: TagByPushTime, Desc: true}, core.Page{Offset: 3600, Limit: 100})
	require.NoError(t, err)
	assert.Equal(t, 5000, total)
	require.Len(t, tags, 100)
	assert.Equal(t, "t1400", tags[0].Name, "newest first: t0000 (pushed now), t4999 ... t1401 on the pages before")
	tags, total, err = tr.rg.FindTags(ctx, TagQuery{Repo: "p/big", NameContains: "t49"}, core.Page{Limit: 15})
	require.NoError(t, err)
	assert.Equal(t, 100, total)
	assert.Equal(t, "t4900", tags[0].Name)
}

func TestArtifactSizeSQLIsOneExpression(t *testing.T) {
	assert.Equal(t, strings.Join(strings.Fields(artifactSize("m", "rm.repo")), " "), strings.Join(strings.Fields(artifactSizeRM), " "))
}
