package registry

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/core"
)

func TestPullTimesAreRecordedInBatches(t *testing.T) {
	onEveryEngine(t, testPullTimesAreRecordedInBatches)
}

func testPullTimesAreRecordedInBatches(t *testing.T) {
	tr := newTestRegistry(t, WithPullFlushInterval(time.Hour))
	img := tr.pushImage("lib/app", "v1", 1)
	arts, _, err := tr.rg.ListArtifacts(t.Context(), "lib/app", core.Page{})
	require.NoError(t, err)
	require.Len(t, arts, 1)
	assert.True(t, arts[0].PulledAt.IsZero(), "never pulled")
	assert.False(t, arts[0].PushedAt.IsZero())
	require.Len(t, arts[0].TagTimes, 1)
	assert.True(t, arts[0].TagTimes[0].PulledAt.IsZero())

	before := time.Now()
	require.Equal(t, http.StatusOK, tr.getManifest("lib/app", "v1").Status)
	require.Equal(t, http.StatusOK, tr.do(http.MethodHead, "/v2/lib/app/manifests/v1", nil, nil).Status)
	a, err := tr.rg.GetArtifact(t.Context(), "lib/app", "v1")
	require.NoError(t, err)
	assert.True(t, a.PulledAt.IsZero(), "written in batches, not per pull")

	require.NoError(t, tr.rg.FlushPulls(t.Context()))
	a, err = tr.rg.GetArtifact(t.Context(), "lib/app", img.Digest.String())
	require.NoError(t, err)
	assert.False(t, a.PulledAt.Before(before.Truncate(time.Millisecond)), "%v", a.PulledAt)
	require.Len(t, a.TagTimes, 1)
	assert.Equal(t, a.PulledAt, a.TagTimes[0].PulledAt, "pulled by tag: the tag's time too")

	// A read through the in-process transport (a scanner) is not a pull.
	first := a.PulledAt
	tr.advance(time.Hour)
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, "http://berth.internal/v2/lib/app/manifests/v1", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json")
	resp, err := tr.rg.Transport("(system: test)").RoundTrip(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.NoError(t, tr.rg.FlushPulls(t.Context()))
	a, err = tr.rg.GetArtifact(t.Context(), "lib/app", "v1")
	require.NoError(t, err)
	assert.Equal(t, first, a.PulledAt)
}
