package storagetest

import (
	"bytes"
	"context"
	"errors"
	"io"
	"testing"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/berthlabs/berth/storage"
)

func failureCases() []testCase {
	return []testCase{
		{"ReaderFailsMidway", testReaderFailsMidway},
		{"CancelledContext", testCancelledContext},
	}
}

// A client that drops mid-chunk must not advance the session: the bytes it
// did send are not acknowledged, and the retry starts at the old offset.
func testReaderFailsMidway(t *testing.T, d storage.Driver) {
	first := []byte("acknowledged|")
	second := bytes.Repeat([]byte("0123456789abcdef"), 200_000) // larger than copy buffers
	for _, tc := range []struct {
		name   string
		before []byte
		err    error
	}{
		{"AtStart", nil, errors.New("connection reset")},
		{"AfterChunk", first, errors.New("connection reset")},
		// What net/http returns for a body shorter than its Content-Length:
		// a failure, though it looks like the end of the stream.
		{"UnexpectedEOF", first, io.ErrUnexpectedEOF},
	} {
		t.Run(tc.name, func(t *testing.T) {
			up, err := d.NewUpload(t.Context())
			require.NoError(t, err)
			write(t, up, tc.before)

			n, err := up.Write(t.Context(), failAfter(second[:len(second)/2], tc.err))
			require.ErrorIs(t, err, tc.err)
			assert.Zero(t, n, "nothing is acknowledged")
			assert.Equal(t, int64(len(tc.before)), up.Size())
			again, err := d.ResumeUpload(t.Context(), up.ID())
			require.NoError(t, err)
			assert.Equal(t, int64(len(tc.before)), again.Size())

			write(t, up, second)
			want := append(bytes.Clone(tc.before), second...)
			require.NoError(t, up.Commit(t.Context(), digest.FromBytes(want)))
			assert.Equal(t, want, readBlob(t, d, digest.FromBytes(want)))
		})
	}
}

func testCancelledContext(t *testing.T, d storage.Driver) {
	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	write(t, up, []byte("kept"))

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	n, err := up.Write(ctx, bytes.NewReader([]byte("dropped")))
	require.ErrorIs(t, err, context.Canceled)
	assert.Zero(t, n)
	assert.Equal(t, int64(4), up.Size())

	write(t, up, []byte("+more"))
	require.NoError(t, up.Commit(t.Context(), digest.FromString("kept+more")))
}

// A large blob streams through in constant memory on the test's side and
// comes back byte for byte.
func testLargeBlob(t *testing.T, d storage.Driver) {
	const seed = 42
	size := int64(64 << 20)
	if testing.Short() {
		size = 4 << 20
	}
	want := generatedDigest(t, seed, size)

	up, err := d.NewUpload(t.Context())
	require.NoError(t, err)
	src := generated(seed, size)
	for range 4 {
		n, err := up.Write(t.Context(), io.LimitReader(src, size/4))
		require.NoError(t, err)
		require.Equal(t, size/4, n)
	}
	require.Equal(t, size, up.Size())
	require.NoError(t, up.Commit(t.Context(), want))

	got, err := d.Stat(t.Context(), want)
	require.NoError(t, err)
	require.Equal(t, size, got)
	rc, err := d.Open(t.Context(), want)
	require.NoError(t, err)
	defer func() { require.NoError(t, rc.Close()) }()
	dg := digest.SHA256.Digester()
	n, err := io.Copy(dg.Hash(), rc)
	require.NoError(t, err)
	assert.Equal(t, size, n)
	assert.Equal(t, want, dg.Digest())
}
