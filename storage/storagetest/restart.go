package storagetest

import (
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage"
)

// RunRestart checks that a driver's state survives a process restart. open
// must return a driver over the persistent state in dir; the suite drops the
// first driver mid-upload and carries on with a second one on the same dir.
func RunRestart(t *testing.T, open func(t *testing.T, dir string) storage.Driver) {
	t.Helper()
	cases := []struct {
		name string
		fn   func(t *testing.T, open func() storage.Driver)
	}{
		{"ResumeUpload", testRestartResume},
		{"BlobsSurvive", testRestartBlobs},
		{"CancelledStaysGone", testRestartCancelled},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			tc.fn(t, func() storage.Driver { return open(t, dir) })
		})
	}
}

func testRestartResume(t *testing.T, open func() storage.Driver) {
	up, err := open().NewUpload(t.Context())
	require.NoError(t, err)
	write(t, up, []byte("written before "))
	id, started := up.ID(), up.StartedAt()

	// From here on only the new driver is used; the old one and its
	// handles are dropped as a process exit would drop them.
	d := open()
	up, err = d.ResumeUpload(t.Context(), id)
	require.NoError(t, err)
	assert.Equal(t, int64(15), up.Size())
	assert.True(t, started.Equal(up.StartedAt()), "StartedAt %v != %v", started, up.StartedAt())
	write(t, up, []byte("and after the restart"))

	want := []byte("written before and after the restart")
	require.NoError(t, up.Commit(t.Context(), digest.FromBytes(want)))
	assert.Equal(t, want, readBlob(t, d, digest.FromBytes(want)))
}

func testRestartBlobs(t *testing.T, open func() storage.Driver) {
	dgst := put(t, open(), []byte("durable"))
	d := open()
	assert.Equal(t, []byte("durable"), readBlob(t, d, dgst))
	assert.Equal(t, map[digest.Digest]int64{dgst: 7}, walk(t, d))
}

func testRestartCancelled(t *testing.T, open func() storage.Driver) {
	up, err := open().NewUpload(t.Context())
	require.NoError(t, err)
	require.NoError(t, up.Cancel(t.Context()))

	_, err = open().ResumeUpload(t.Context(), up.ID())
	assert.ErrorIs(t, err, storage.ErrUploadUnknown)
}
