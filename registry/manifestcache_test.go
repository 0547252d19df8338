package registry

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every change must be visible on the next read, although reads are served
// from the in-memory cache.
func TestManifestCacheStaysExact(t *testing.T) {
	tr := newTestRegistry(t)
	require.NotNil(t, tr.rg.meta.cache, "the cache is on for embedded SQLite")
	a := tr.pushImage("r", "t", 1)
	b := randomImage(t, 1)
	tr.pushImageBlobs("r", b)

	for range 2 { // the second read is a cache hit
		r := tr.getManifest("r", "t")
		require.Equal(t, http.StatusOK, r.Status)
		assert.Equal(t, a.Manifest, r.Body)
	}
	tr.pushManifest("r", "t", MediaTypeOCIManifest, b.Manifest)
	assert.Equal(t, b.Manifest, tr.getManifest("r", "t").Body, "retag is seen at once")

	require.Equal(t, http.StatusOK, tr.getManifest("r", b.Digest.String()).Status)
	require.Equal(t, http.StatusAccepted, tr.do(http.MethodDelete, "/v2/r/manifests/"+b.Digest.String(), nil, nil).Status)
	tr.requireNoManifest("r", b.Digest.String())
	tr.requireNoManifest("r", "t")

	// Another repository's entries are untouched by changes here.
	tr.pushImage("other", "t", 1)
	require.Equal(t, http.StatusOK, tr.getManifest("other", "t").Status)
	require.Equal(t, http.StatusAccepted, tr.do(http.MethodDelete, "/v2/r/manifests/"+a.Digest.String(), nil, nil).Status)
	require.Equal(t, http.StatusOK, tr.getManifest("other", "t").Status)
}

func TestManifestCacheBoundedAndDisabled(t *testing.T) {
	c := newManifestCache(64 << 10)
	for i := range 100 {
		c.put("r", string(rune('a'+i%26))+string(rune('a'+i/26)), 0, &manifestRow{Content: make([]byte, 4<<10)})
	}
	assert.LessOrEqual(t, c.bytes, int64(64<<10))
	assert.Equal(t, c.lru.Len(), len(c.entries))
	c.put("r", "huge", 0, &manifestRow{Content: make([]byte, 32<<10)})
	assert.Nil(t, c.get("r", "huge"), "an entry over 1/8 of the budget is not cached")

	tr := newTestRegistry(t, WithManifestCache(0))
	assert.Nil(t, tr.rg.meta.cache)
	tr.pushImage("r", "t", 1)
	assert.Equal(t, http.StatusOK, tr.getManifest("r", "t").Status)
}
