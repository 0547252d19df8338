package fanout_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzFillDeliversTheBody feeds bodies of any length, cut into reads of any
// size, to two readers reading through buffers of any size: both get the
// body exactly and Commit sees it once. It guards the offset and length
// bookkeeping at every boundary (empty body, one-byte reads, declared or
// unknown size).
func FuzzFillDeliversTheBody(f *testing.F) {
	f.Add([]byte{}, uint8(1), uint8(1), true)
	f.Add([]byte("a"), uint8(1), uint8(7), false)
	f.Add(bytes.Repeat([]byte("layer"), 1000), uint8(3), uint8(255), true)
	f.Add(bytes.Repeat([]byte{0}, 70000), uint8(255), uint8(2), false)
	f.Fuzz(func(t *testing.T, data []byte, chunk, readSize uint8, declared bool) {
		up := newUpstream(data)
		up.chunk = int(chunk)%64 + 1
		if !declared {
			up.size = -1
		}
		var st store
		g, _ := newGroup(t)
		up.pauseAt = len(data) / 2 // both readers join before the body ends
		first, err := g.Open(context.Background(), "k", up.fetch, st.commit)
		require.NoError(t, err)
		defer first.Close()
		second, err := g.Open(context.Background(), "k", neverFetch(t), st.commit)
		require.NoError(t, err)
		defer second.Close()
		require.Equal(t, up.size, first.Size())
		close(up.resume)

		for _, r := range []interface{ Read([]byte) (int, error) }{first, second} {
			got, err := readAll(r, int(readSize)%64+1)
			require.NoError(t, err)
			require.True(t, bytes.Equal(data, got), "got %d bytes, want %d", len(got), len(data))
		}
		closeGroup(t, g)
		calls, sums, sizes := st.snapshot()
		require.Equal(t, 1, calls)
		require.Equal(t, sha256.Sum256(data), sums[0])
		require.Equal(t, int64(len(data)), sizes[0])
	})
}
