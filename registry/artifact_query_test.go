package registry

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
)

func TestFindArtifacts(t *testing.T) { onEngines(t, testFindArtifacts) }

func testFindArtifacts(t *testing.T) {
	tr := newTestRegistry(t)
	ctx := t.Context()
	start := tr.rg.now()
	small := tr.pushImage("p/app", "v1", 1)
	tr.advance(time.Minute)
	big := tr.pushImage("p/app", "v2", 3)
	tr.advance(2 * time.Minute)
	mid := tr.pushImage("p/app", "", 2)
	tr.pushImage("q/other", "v1", 1)

	digests := func(q ArtifactQuery) []string {
		t.Helper()
		if q.Repo == "" && q.Prefix == "" {
			q.Repo = "p/app"
		}
		arts, total, err := tr.rg.FindArtifacts(ctx, q, core.Page{Limit: 10})
		require.NoError(t, err)
		require.Len(t, arts, total)
		var out []string
		for _, a := range arts {
			out = append(out, a.Digest.String())
		}
		return out
	}
	s, b, m := small.Digest.String(), big.Digest.String(), mid.Digest.String()
	assert.Equal(t, []string{s, b, m}, digests(ArtifactQuery{}), "oldest push first")
	assert.Equal(t, []string{m, b, s}, digests(ArtifactQuery{Desc: true}))
	assert.Equal(t, []string{s, m, b}, digests(ArtifactQuery{Order: BySize}))
	assert.Equal(t, []string{b, m, s}, digests(ArtifactQuery{Order: BySize, Desc: true}))
	assert.Equal(t, []string{s, b, m}, digests(ArtifactQuery{Order: ByID}))
	assert.Equal(t, []string{m, s}, digests(ArtifactQuery{Digests: []string{m, s, "sha256:nope"}, Desc: true}))
	assert.Nil(t, digests(ArtifactQuery{Digests: []string{}}))
	assert.Equal(t, []string{s, b}, digests(ArtifactQuery{Tags: []string{"v1", "v2"}}))
	assert.Equal(t, []string{b}, digests(ArtifactQuery{TagContains: "2"}))
	assert.Nil(t, digests(ArtifactQuery{AllTags: []string{"v1", "v2"}}))
	assert.Equal(t, []string{s}, digests(ArtifactQuery{AllTags: []string{"v1"}}))
	assert.Equal(t, []string{m}, digests(ArtifactQuery{Tagged: new(false)}))
	assert.Equal(t, []string{s, b}, digests(ArtifactQuery{Tagged: new(true)}))
	assert.Equal(t, []string{b, m}, digests(ArtifactQuery{PushedFrom: start.Add(30 * time.Second)}))
	assert.Equal(t, []string{b}, digests(ArtifactQuery{PushedFrom: start.Add(30 * time.Second), PushedTo: start.Add(90 * time.Second)}))
	ma, err := tr.rg.GetArtifact(ctx, "p/app", m)
	require.NoError(t, err)
	assert.Equal(t, []string{b, m}, digests(ArtifactQuery{SizeMin: new(ma.TotalSize)}))
	assert.Equal(t, []string{m}, digests(ArtifactQuery{SizeMin: new(ma.TotalSize), SizeMax: new(ma.TotalSize)}))
	assert.Greater(t, ma.TotalSize, ma.Size, "the size filters count the blobs too")
	assert.Nil(t, digests(ArtifactQuery{PulledFrom: start}), "never pulled")
	assert.Equal(t, []string{s, b, m}, digests(ArtifactQuery{MediaTypes: []string{"application/vnd.oci.image.manifest.v1+json"}}))
	assert.Nil(t, digests(ArtifactQuery{MediaTypes: []string{"application/x-nope"}}))
	assert.Len(t, digests(ArtifactQuery{Prefix: "q/"}), 1)

	_, _, err = tr.rg.FindArtifacts(ctx, ArtifactQuery{Repo: "p/nope"}, core.Page{Limit: 10})
	assert.ErrorIs(t, err, ErrNotFound)
	_, _, err = tr.rg.FindArtifacts(ctx, ArtifactQuery{}, core.Page{Limit: 10})
	assert.ErrorIs(t, err, core.ErrInvalid)
}
