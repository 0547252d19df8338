package storagetest

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"testing"
	"testing/iotest"

	"github.com/opencontainers/go-digest"
	"github.com/stretchr/testify/require"
)

// chunked returns a reader that hands out content at most n bytes per Read,
// as a slow network body would.
func chunked(content []byte, n int) io.Reader {
	return &smallReads{r: bytes.NewReader(content), n: n}
}

type smallReads struct {
	r io.Reader
	n int
}

func (s *smallReads) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

// generated returns size deterministic pseudo-random bytes for seed. They are
// produced as they are read, so large blobs are never held in memory.
func generated(seed uint64, size int64) io.Reader {
	var key [32]byte
	binary.LittleEndian.PutUint64(key[:], seed)
	return io.LimitReader(rand.NewChaCha8(key), size)
}

// generatedDigest is the sha256 digest of generated(seed, size).
func generatedDigest(t *testing.T, seed uint64, size int64) digest.Digest {
	t.Helper()
	dg := digest.SHA256.Digester()
	_, err := io.Copy(dg.Hash(), generated(seed, size))
	require.NoError(t, err)
	return dg.Digest()
}

// failAfter returns a reader that yields prefix and then fails with err, like
// a client connection dropped mid-request.
func failAfter(prefix []byte, err error) io.Reader {
	return io.MultiReader(bytes.NewReader(prefix), iotest.ErrReader(err))
}
