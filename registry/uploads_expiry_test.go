package registry

import (
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage"
)

// testClock is a clock the test moves by hand.
type testClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *testClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *testClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newClockedRegistry is a test registry on a hand-moved clock.
func newClockedRegistry(t *testing.T, opts ...Option) (*testRegistry, *testClock) {
	tr := newTestRegistry(t, opts...)
	clock := &testClock{t: time.Now()}
	tr.rg.now = clock.now
	return tr, clock
}

// requireStorageGone asserts the storage driver no longer holds the
// session behind loc.
func (tr *testRegistry) requireStorageGone(loc string) {
	tr.t.Helper()
	_, err := tr.rg.blobs.ResumeUpload(tr.t.Context(), sessionID(loc))
	require.ErrorIs(tr.t, err, storage.ErrUploadUnknown)
}

func sessionID(loc string) string { return path.Base(loc) }

// An idle session stops counting and resuming at once, and ExpireUploads
// frees its bytes; a session that keeps receiving chunks lives on.
func TestIdleUploadsEnd(t *testing.T) { onEngines(t, testIdleUploadsEnd) }

func testIdleUploadsEnd(t *testing.T) {
	tr, clock := newClockedRegistry(t, WithUploadTimeouts(time.Hour, 24*time.Hour),
		WithMaxOpenUploadsPerUser(2), WithAuthorizer(headerActor{}))
	idle := tr.startAs("alice", "p/app").Header.Get("Location")
	busy := tr.startAs("alice", "p/app").Header.Get("Location")
	tr.patchChunk(idle, 0, []byte("abc"))
	requireCap(t, tr.startAs("alice", "p/app"), "user", "per-user")

	clock.advance(50 * time.Minute)
	tr.patchChunk(busy, 0, []byte("0123"))
	clock.advance(20 * time.Minute) // idle: 70 minutes; busy: 20

	requireError(t, tr.do(http.MethodGet, idle, nil, nil), http.StatusNotFound, CodeBlobUploadUnknown)
	requireError(t, tr.do(http.MethodPatch, idle, []byte("def"), hdr("Content-Range", "3-5")),
		http.StatusNotFound, CodeBlobUploadUnknown)
	third := tr.startAs("alice", "p/app")
	require.Equal(t, http.StatusAccepted, third.Status, "the idle session no longer counts, before any purge: %s", third.Body)
	requireCap(t, tr.startAs("alice", "p/app"), "user", "per-user")

	n, err := tr.rg.ExpireUploads(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	tr.requireStorageGone(idle)

	tr.patchChunk(busy, 4, []byte("4567"))
	r := tr.do(http.MethodPut, busy+"?digest="+digestOf([]byte("01234567")), nil, nil)
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
}

// However busy, a session ends at its maximum age.
func TestUploadsEndAtTheirMaximumAge(t *testing.T) { onEngines(t, testUploadsEndAtTheirMaximumAge) }

func testUploadsEndAtTheirMaximumAge(t *testing.T) {
	tr, clock := newClockedRegistry(t, WithUploadTimeouts(time.Hour, 2*time.Hour))
	loc := tr.startUpload("p/app")
	clock.advance(50 * time.Minute)
	tr.patchChunk(loc, 0, []byte("x"))
	clock.advance(50 * time.Minute)
	tr.patchChunk(loc, 1, []byte("x"))
	clock.advance(50 * time.Minute)
	// 150 minutes old, last chunk 50 minutes ago.
	requireError(t, tr.do(http.MethodPatch, loc, []byte("y"), hdr("Content-Range", "2-2")),
		http.StatusNotFound, CodeBlobUploadUnknown)
	n, err := tr.rg.ExpireUploads(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	tr.requireStorageGone(loc)
}

// clockedBody yields its chunks one Read at a time, moving the clock and
// running between reads what the test asks: the registry reads it while it
// streams one long chunk.
type clockedBody struct {
	chunks  [][]byte
	step    time.Duration
	clock   *testClock
	between func()
}

func (b *clockedBody) Read(p []byte) (int, error) {
	if len(b.chunks) == 0 {
		return 0, io.EOF
	}
	b.clock.advance(b.step)
	b.between()
	n := copy(p, b.chunks[0])
	if b.chunks[0] = b.chunks[0][n:]; len(b.chunks[0]) == 0 {
		b.chunks = b.chunks[1:]
	}
	return n, nil
}

// streamingPatch is a PATCH of body, of unknown length, to loc.
func streamingPatch(t *testing.T, loc string, body io.Reader) *http.Request {
	req := httptest.NewRequestWithContext(t.Context(), http.MethodPatch, loc, body)
	req.ContentLength = -1
	return req
}

// A chunk that streams for longer than the idle timeout (docker sends a
// layer as one PATCH) keeps its session alive while bytes flow, while
// purges running meanwhile end the sessions that really are idle.
func TestStreamingChunkKeepsItsSessionAlive(t *testing.T) {
	onEngines(t, testStreamingChunkKeepsItsSessionAlive)
}

func testStreamingChunkKeepsItsSessionAlive(t *testing.T) {
	tr, clock := newClockedRegistry(t, WithUploadTimeouts(time.Hour, 24*time.Hour))
	loc := tr.startUpload("p/app")
	idle := tr.startUpload("p/app")
	purged := 0
	body := &clockedBody{chunks: [][]byte{[]byte("aa"), []byte("bb"), []byte("cc"), []byte("dd")},
		step: 40 * time.Minute, clock: clock, between: func() {
			n, err := tr.rg.ExpireUploads(t.Context())
			require.NoError(t, err)
			purged += n
		}}
	r := tr.serve(streamingPatch(t, loc, body))
	require.Equal(t, http.StatusAccepted, r.Status, "160 minutes of streaming: %s", r.Body)
	assert.Equal(t, "0-7", r.Header.Get("Range"))
	assert.Equal(t, 1, purged, "the idle session went meanwhile")
	tr.requireStorageGone(idle)

	clock.advance(59 * time.Minute)
	r = tr.do(http.MethodPut, loc+"?digest="+digestOf([]byte("aabbccdd")), nil, nil)
	require.Equal(t, http.StatusCreated, r.Status, "body: %s", r.Body)
}

// A session purged while its chunk streams answers 404 when the chunk
// ends, and its bytes go.
func TestSessionPurgedWhileStreaming(t *testing.T) { onEngines(t, testSessionPurgedWhileStreaming) }

func testSessionPurgedWhileStreaming(t *testing.T) {
	tr, clock := newClockedRegistry(t, WithUploadTimeouts(time.Hour, 24*time.Hour))
	loc := tr.startUpload("p/app")
	once := sync.OnceFunc(func() {
		_, err := tr.rg.PurgeUploads(t.Context(), clock.now().Add(time.Second))
		require.NoError(t, err)
	})
	body := &clockedBody{chunks: [][]byte{[]byte("aa"), []byte("bb")}, step: 20 * time.Minute, clock: clock, between: once}
	r := tr.serve(streamingPatch(t, loc, body))
	requireError(t, r, http.StatusNotFound, CodeBlobUploadUnknown)
	tr.requireStorageGone(loc)
	requireError(t, tr.do(http.MethodGet, loc, nil, nil), http.StatusNotFound, CodeBlobUploadUnknown)
}
