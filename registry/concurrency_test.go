package registry

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Racing chunks on one session: exactly one wins each offset, the others
// are told where the session stands.
func TestConcurrentChunksOnOneSession(t *testing.T) {
	onEveryEngine(t, testConcurrentChunksOnOneSession)
}

func testConcurrentChunksOnOneSession(t *testing.T) {
	tr := newTestRegistry(t)
	loc := tr.startUpload("r")
	const racers = 8
	statuses := make([]int, racers)
	var wg sync.WaitGroup
	for i := range racers {
		wg.Go(func() {
			r := tr.do(http.MethodPatch, loc, []byte(fmt.Sprintf("chunk-%d", i)), hdr("Content-Range", "0-6"))
			statuses[i] = r.Status
		})
	}
	wg.Wait()
	won := 0
	for _, s := range statuses {
		switch s {
		case http.StatusAccepted:
			won++
		case http.StatusRequestedRangeNotSatisfiable:
		default:
			t.Errorf("unexpected status %d", s)
		}
	}
	assert.Equal(t, 1, won, "statuses %v", statuses)
	assert.Equal(t, "0-6", tr.uploadRange(loc))
}

// Concurrent pushes to one repository and one tag all land; the tag points
// at one of them.
func TestConcurrentPushes(t *testing.T) { onEveryEngine(t, testConcurrentPushes) }

func testConcurrentPushes(t *testing.T) {
	tr := newTestRegistry(t)
	const pushers = 8
	imgs := make([]testImage, pushers)
	for i := range imgs {
		imgs[i] = randomImage(t, 2)
	}
	shared := randomBytes(512)
	var wg sync.WaitGroup
	for i := range pushers {
		wg.Go(func() {
			for _, b := range append([][]byte{shared, imgs[i].Config}, imgs[i].Layers...) {
				d := digest.FromBytes(b)
				r := tr.do(http.MethodPost, "/v2/busy/blobs/uploads/?digest="+d.String(), b, nil)
				assert.Equal(t, http.StatusCreated, r.Status)
			}
			r := tr.putManifest("busy", "latest", MediaTypeOCIManifest, imgs[i].Manifest)
			assert.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
		})
	}
	wg.Wait()

	r := tr.getManifest("busy", "latest")
	require.Equal(t, http.StatusOK, r.Status)
	winner := digest.Digest(r.Header.Get("Docker-Content-Digest"))
	found := false
	for _, img := range imgs {
		require.Equal(t, http.StatusOK, tr.getManifest("busy", img.Digest.String()).Status)
		found = found || img.Digest == winner
	}
	assert.True(t, found)
	assert.Equal(t, []string{"latest"}, tr.tagList("busy"))

	// Each manifest the tag moved off was queued as untagged, once.
	_, untagged, err := tr.rg.GarbageQueue(t.Context())
	require.NoError(t, err)
	assert.Equal(t, pushers-1, untagged)
	tr.requireConsistent("busy")
	tr.advance(3 * time.Hour)
	assert.Equal(t, pushers-1, tr.gc(GCOptions{DeleteUntagged: true}).ManifestsDeleted)
	require.Equal(t, http.StatusOK, tr.getManifest("busy", "latest").Status)
	tr.requireConsistent("busy")
}
